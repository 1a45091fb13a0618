//! The pages a download consumes, fetched ahead of it: a task holds Miro's cursor stream and hands pages over a
//! bounded channel, so the next page is on its way while the current one is diffed and written.
//!
//! At most two pages are ahead of the consumer (one waiting in the channel, one in flight). The producer stops
//! by itself at the invocation's page budget and deadline, so a stop costs at most those two fetches and never a
//! page the checkpoint does not account for: the checkpoint names the last page WRITTEN, and the next run
//! fetches again whatever was fetched but not written.
//!
//! With partitioned paging every part has such a producer, and a merger task turns their id-ordered streams
//! into one id-ordered stream (a k-way merge), so the consumer is the same for both.

use std::collections::VecDeque;
use std::time::Instant;

use futures::StreamExt;
use miro_client::{Member, MemberFilter, MembersPage, MiroClient, MiroError, UndecodableMember};
use secrecy::SecretString;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::StopAt;
use crate::partition::in_part;

/// Pages the consumer may lag behind by: one in the channel (plus one being fetched).
const AHEAD: usize = 1;
/// Members per merged page of a partitioned listing (Miro's page size).
const MERGED_PAGE: usize = 100;

#[derive(Debug)]
pub(super) enum FeedError {
    Miro(MiroError),
    /// Guard 1 of partitioned paging: a part returned a member its filter does not select.
    NotInPart {
        part: usize,
        filter: MemberFilter,
        member_id: String,
    },
}

/// What the feed hands the consumer: Miro's page, or (partitioned) a merged one whose cursor is its last id.
pub(super) type Item = Result<MembersPage, FeedError>;

/// Ends its tasks when dropped, so a paused or failed download stops fetching at once.
pub(super) struct Feed {
    rx: mpsc::Receiver<Item>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Feed {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Feed {
    /// `None`: the producer stopped. After a page without a cursor that is the end of the listing; otherwise it
    /// reached the page budget or the deadline.
    pub(super) async fn next(&mut self) -> Option<Item> {
        self.rx.recv().await
    }

    /// One cursor stream over the whole list, from `cursor`.
    pub(super) fn sequential(
        client: MiroClient,
        token: SecretString,
        org: String,
        cursor: Option<String>,
        stop: StopAt,
    ) -> Feed {
        let (tx, rx) = mpsc::channel(AHEAD);
        let task = tokio::spawn(produce(
            client,
            token,
            org,
            MemberFilter::default(),
            cursor,
            stop,
            tx,
            |r| r.map_err(FeedError::Miro),
        ));
        Feed {
            rx,
            tasks: vec![task],
        }
    }

    /// Every part paged at once (each with its client: see the lanes in `partitioned.rs`), merged by member id.
    /// Every part starts after `cursor`: a merged page's cursor is its last id, and every part has delivered
    /// every member up to it.
    pub(super) fn partitioned(
        parts: Vec<(MiroClient, MemberFilter)>,
        token: SecretString,
        org: String,
        cursor: Option<String>,
        stop: StopAt,
    ) -> Feed {
        let mut tasks = Vec::new();
        let mut inputs = Vec::new();
        // Parts are not limited by the page budget (that counts merged pages): the merger's channel holds them.
        let part_stop = StopAt {
            max_pages: None,
            ..stop
        };
        for (i, (client, filter)) in parts.into_iter().enumerate() {
            let (tx, rx) = mpsc::channel(AHEAD);
            let f = filter.clone();
            tasks.push(tokio::spawn(produce(
                client,
                token.clone(),
                org.clone(),
                filter,
                cursor.clone(),
                part_stop,
                tx,
                move |r| match r {
                    Err(e) => Err(FeedError::Miro(e)),
                    Ok(page) => match page.members.iter().find(|m| !in_part(&f, m)) {
                        Some(m) => Err(FeedError::NotInPart {
                            part: i,
                            filter: f.clone(),
                            member_id: m.id.clone(),
                        }),
                        None => Ok(page),
                    },
                },
            )));
            inputs.push(Part {
                rx,
                buf: VecDeque::new(),
                state: PartState::Open,
            });
        }
        let (tx, rx) = mpsc::channel(AHEAD);
        tasks.push(tokio::spawn(merge(inputs, stop.max_pages, tx)));
        Feed { rx, tasks }
    }
}

/// Fetches pages while the budget lasts and sends each through `check`; stops after the first error.
#[allow(clippy::too_many_arguments)]
async fn produce(
    client: MiroClient,
    token: SecretString,
    org: String,
    filter: MemberFilter,
    cursor: Option<String>,
    stop: StopAt,
    tx: mpsc::Sender<Item>,
    check: impl Fn(Result<MembersPage, MiroError>) -> Item,
) {
    let mut pages = client.members(&token, &org, filter, cursor).boxed();
    let mut fetched = 0u64;
    loop {
        if stop.max_pages.is_some_and(|m| fetched >= m)
            || stop.deadline.is_some_and(|d| Instant::now() >= d)
        {
            return;
        }
        let Some(r) = pages.next().await else { return };
        fetched += 1;
        let item = check(r);
        let failed = item.is_err();
        if tx.send(item).await.is_err() || failed {
            return;
        }
    }
}

enum PartState {
    Open,
    /// Its last page arrived: what is buffered is all there is.
    Finished,
}

struct Part {
    rx: mpsc::Receiver<Item>,
    buf: VecDeque<Member>,
    state: PartState,
}

/// The k-way merge: emits the smallest buffered id as long as every open part has something buffered (so no
/// smaller id can still come), `MERGED_PAGE` members at a time. A member listed by two parts (it moved between
/// them during the run) is emitted once. A part whose producer stopped early (deadline) stops the merge without
/// a final page, which the consumer reads as "stopped", never as "complete".
async fn merge(mut parts: Vec<Part>, max_pages: Option<u64>, tx: mpsc::Sender<Item>) {
    let mut members: Vec<Member> = Vec::new();
    let mut undecodable: Vec<UndecodableMember> = Vec::new();
    let mut sent = 0u64;
    let mut last_id: Option<String> = None;
    loop {
        // Refill every open part that has nothing buffered.
        for p in parts.iter_mut() {
            while matches!(p.state, PartState::Open) && p.buf.is_empty() {
                match p.rx.recv().await {
                    None => return,
                    Some(Err(e)) => {
                        let _ = tx.send(Err(e)).await;
                        return;
                    }
                    Some(Ok(page)) => {
                        undecodable.extend(page.undecodable);
                        p.buf.extend(page.members);
                        if page.next_cursor.is_none() {
                            p.state = PartState::Finished;
                        }
                    }
                }
            }
        }
        // Emit while every open part still has a head.
        loop {
            let blocked = parts
                .iter()
                .any(|p| matches!(p.state, PartState::Open) && p.buf.is_empty());
            if blocked || members.len() >= MERGED_PAGE {
                break;
            }
            let Some(i) = (0..parts.len())
                .filter(|&i| !parts[i].buf.is_empty())
                .min_by(|&a, &b| id_cmp(&parts[a].buf[0], &parts[b].buf[0]))
            else {
                break;
            };
            let m = parts[i].buf.pop_front().expect("a head");
            if last_id.as_deref() == Some(m.id.as_str()) {
                continue;
            }
            last_id = Some(m.id.clone());
            members.push(m);
        }
        let all_done = parts
            .iter()
            .all(|p| matches!(p.state, PartState::Finished) && p.buf.is_empty());
        if members.len() >= MERGED_PAGE || all_done {
            if max_pages.is_some_and(|m| sent >= m) {
                return;
            }
            let next_cursor = match (all_done, members.last()) {
                (true, _) => None,
                (false, Some(last)) => Some(last.id.clone()),
                // Not reachable: a non-final page is only sent full.
                (false, None) => continue,
            };
            let page = MembersPage {
                members: std::mem::take(&mut members),
                undecodable: std::mem::take(&mut undecodable),
                next_cursor,
            };
            if tx.send(Ok(page)).await.is_err() || all_done {
                return;
            }
            sent += 1;
        }
    }
}

/// Numeric order of Miro ids (shorter first, then text), as `MemberId` orders them.
fn id_cmp(a: &Member, b: &Member) -> std::cmp::Ordering {
    a.id.len().cmp(&b.id.len()).then_with(|| a.id.cmp(&b.id))
}
