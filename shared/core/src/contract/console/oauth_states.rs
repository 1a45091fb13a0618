//! Contract of [`OAuthStates`]: a state works once, within [`OAUTH_STATE_TTL`] of its issue by the store's clock.
//!
//! The adapter's factory receives the clock the contract moves (a [`FixedClock`] starting at [`t0`]) and must
//! build the states on it, so expiry is tested without sleeping.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::Duration;

use super::super::fixtures::*;
use crate::ports::{FixedClock, OAUTH_STATE_TTL, OAuthStates, StateTake, TakenState};

/// The clock an OAuth states factory is given.
pub fn oauth_clock() -> Arc<FixedClock> {
    Arc::new(FixedClock::new(t0()))
}

fn is_url_safe(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

pub async fn oauth_state_is_taken_once(states: Arc<dyn OAuthStates>, clock: Arc<FixedClock>) {
    let data = r#"{"return_to":"/console/plans","org":"3074457345821141000"}"#;
    let state = states.issue_state(data).await.unwrap();
    // 128 bits are 22 characters of base64 and 32 of hex.
    assert!(
        state.len() >= 22 && is_url_safe(&state),
        "a state is at least 128 random bits, URL-safe: {state:?}"
    );
    let other = states.issue_state(data).await.unwrap();
    assert_ne!(state, other, "every state is new");

    clock.advance(Duration::minutes(3));
    assert_eq!(
        states.take_state(&state).await.unwrap(),
        StateTake::Valid(TakenState {
            data: data.into(),
            created_at: t0(),
            expires_at: t0() + OAUTH_STATE_TTL,
        }),
        "taken once, with what was stored and the store's times"
    );
    assert_eq!(
        states.take_state(&state).await.unwrap(),
        StateTake::Unknown,
        "a used state is gone"
    );
    assert!(
        matches!(states.take_state(&other).await.unwrap(), StateTake::Valid(t) if t.data == data),
        "taking one state leaves the others"
    );
    let upper = state.to_uppercase();
    for never in ["never-issued", "", &state[..state.len() - 1], &upper] {
        if never != state {
            assert_eq!(
                states.take_state(never).await.unwrap(),
                StateTake::Unknown,
                "{never:?} was never issued"
            );
        }
    }
}

pub async fn an_expired_oauth_state_is_expired_and_consumed(
    states: Arc<dyn OAuthStates>,
    clock: Arc<FixedClock>,
) {
    let late = states.issue_state("late").await.unwrap();
    clock.advance(Duration::minutes(1));
    let in_time = states.issue_state("in time").await.unwrap();
    // `late` is one second past its ten minutes, `in_time` one minute short of them.
    clock.advance(OAUTH_STATE_TTL - Duration::minutes(1) + Duration::seconds(1));
    assert_eq!(
        states.take_state(&late).await.unwrap(),
        StateTake::Expired {
            expired_at: t0() + OAUTH_STATE_TTL
        }
    );
    assert_eq!(
        states.take_state(&late).await.unwrap(),
        StateTake::Unknown,
        "an expired state is consumed all the same"
    );
    assert!(matches!(
        states.take_state(&in_time).await.unwrap(),
        StateTake::Valid(t) if t.data == "in time"
    ));
}

pub async fn concurrent_oauth_state_takes_have_one_winner(
    states: Arc<dyn OAuthStates>,
    _clock: Arc<FixedClock>,
) {
    let mut issued = HashSet::new();
    for round in 0..5 {
        let state = states.issue_state(&format!("round {round}")).await.unwrap();
        assert!(issued.insert(state.clone()), "every state is new");
        let takes = (0..8).map(|_| {
            let (states, state) = (states.clone(), state.clone());
            async move { states.take_state(&state).await.unwrap() }
        });
        let results = futures::future::join_all(takes).await;
        let valid = results
            .iter()
            .filter(|r| matches!(r, StateTake::Valid(_)))
            .count();
        let unknown = results
            .iter()
            .filter(|r| matches!(r, StateTake::Unknown))
            .count();
        assert_eq!((valid, unknown), (1, 7), "round {round}: {results:?}");
    }
}
