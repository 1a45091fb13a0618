//! Set-up the Miro sandbox's and the Miro client's own tests share (issue 14): written once here.
