//! [`forward_token_store!`](crate::forward_token_store): a [`TokenStore`](super::TokenStore) that wraps another
//! and passes it the calls it does not answer itself (the console's store without SCIM token values, the
//! fault-injecting stores of the tests). Each passed-through method is written here once instead of in every
//! wrapper. The re-exports let the macro name what it needs from any crate.

#[doc(hidden)]
pub use async_trait::async_trait;
#[doc(hidden)]
pub use chrono::{DateTime, Utc};
#[doc(hidden)]
pub use secrecy::SecretString;

/// Implements `TokenStore` for `$ty` with the methods written in the call, and the methods listed in brackets
/// passed to the store in field `$field` (any `TokenStore`, or a pointer to one; the caller need not import the
/// trait, so each passed method imports it, allowed to be redundant):
///
/// ```ignore
/// miro_sam_core::forward_token_store! {
///     ConsoleTokens => tokens: [get_tokens, put_tokens, put_tokens_if_version, lease_refresh, release_refresh];
///     async fn get_scim_token(&self, org: &OrgId) -> Result<SecretString, StoreError> { ... }
///     async fn put_scim_token(&self, org: &OrgId, token: &SecretString) -> Result<(), StoreError> { ... }
/// }
/// ```
#[macro_export]
macro_rules! forward_token_store {
    (@munch $ty:ty, $field:ident, [], [$($body:tt)*]) => {
        #[$crate::ports::forward_tokens::async_trait]
        impl $crate::ports::TokenStore for $ty {
            $($body)*
        }
    };
    (@munch $ty:ty, $field:ident, [get_tokens $(, $rest:ident)*], [$($body:tt)*]) => {
        $crate::forward_token_store!(@munch $ty, $field, [$($rest),*], [$($body)*
            async fn get_tokens(
                &self,
                org: &$crate::domain::OrgId,
            ) -> Result<$crate::ports::TokenBundle, $crate::StoreError> {
                #[allow(unused_imports)]
                use $crate::ports::TokenStore as _;
                self.$field.get_tokens(org).await
            }
        ]);
    };
    (@munch $ty:ty, $field:ident, [put_tokens $(, $rest:ident)*], [$($body:tt)*]) => {
        $crate::forward_token_store!(@munch $ty, $field, [$($rest),*], [$($body)*
            async fn put_tokens(
                &self,
                bundle: &$crate::ports::TokenBundle,
            ) -> Result<u64, $crate::StoreError> {
                #[allow(unused_imports)]
                use $crate::ports::TokenStore as _;
                self.$field.put_tokens(bundle).await
            }
        ]);
    };
    (@munch $ty:ty, $field:ident, [put_tokens_if_version $(, $rest:ident)*], [$($body:tt)*]) => {
        $crate::forward_token_store!(@munch $ty, $field, [$($rest),*], [$($body)*
            async fn put_tokens_if_version(
                &self,
                bundle: &$crate::ports::TokenBundle,
                expected_version: u64,
            ) -> Result<u64, $crate::StoreError> {
                #[allow(unused_imports)]
                use $crate::ports::TokenStore as _;
                self.$field.put_tokens_if_version(bundle, expected_version).await
            }
        ]);
    };
    (@munch $ty:ty, $field:ident, [lease_refresh $(, $rest:ident)*], [$($body:tt)*]) => {
        $crate::forward_token_store!(@munch $ty, $field, [$($rest),*], [$($body)*
            async fn lease_refresh(
                &self,
                org: &$crate::domain::OrgId,
                version: u64,
                now: $crate::ports::forward_tokens::DateTime<$crate::ports::forward_tokens::Utc>,
                until: $crate::ports::forward_tokens::DateTime<$crate::ports::forward_tokens::Utc>,
            ) -> Result<$crate::ports::RefreshLease, $crate::StoreError> {
                #[allow(unused_imports)]
                use $crate::ports::TokenStore as _;
                self.$field.lease_refresh(org, version, now, until).await
            }
        ]);
    };
    (@munch $ty:ty, $field:ident, [release_refresh $(, $rest:ident)*], [$($body:tt)*]) => {
        $crate::forward_token_store!(@munch $ty, $field, [$($rest),*], [$($body)*
            async fn release_refresh(
                &self,
                org: &$crate::domain::OrgId,
                version: u64,
                until: $crate::ports::forward_tokens::DateTime<$crate::ports::forward_tokens::Utc>,
            ) -> Result<(), $crate::StoreError> {
                #[allow(unused_imports)]
                use $crate::ports::TokenStore as _;
                self.$field.release_refresh(org, version, until).await
            }
        ]);
    };
    (@munch $ty:ty, $field:ident, [get_scim_token $(, $rest:ident)*], [$($body:tt)*]) => {
        $crate::forward_token_store!(@munch $ty, $field, [$($rest),*], [$($body)*
            async fn get_scim_token(
                &self,
                org: &$crate::domain::OrgId,
            ) -> Result<$crate::ports::forward_tokens::SecretString, $crate::StoreError> {
                #[allow(unused_imports)]
                use $crate::ports::TokenStore as _;
                self.$field.get_scim_token(org).await
            }
        ]);
    };
    (@munch $ty:ty, $field:ident, [put_scim_token $(, $rest:ident)*], [$($body:tt)*]) => {
        $crate::forward_token_store!(@munch $ty, $field, [$($rest),*], [$($body)*
            async fn put_scim_token(
                &self,
                org: &$crate::domain::OrgId,
                token: &$crate::ports::forward_tokens::SecretString,
            ) -> Result<(), $crate::StoreError> {
                #[allow(unused_imports)]
                use $crate::ports::TokenStore as _;
                self.$field.put_scim_token(org, token).await
            }
        ]);
    };
    ($ty:ty => $field:ident: [$($fwd:ident),* $(,)?]; $($own:tt)*) => {
        $crate::forward_token_store!(@munch $ty, $field, [$($fwd),*], [$($own)*]);
    };
}
