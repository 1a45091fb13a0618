//! Set-up the notice tests of the SQLite store, the AWS adapters and the mailer share (issue 14): written once here.
