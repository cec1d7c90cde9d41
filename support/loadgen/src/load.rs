//! The three shapes of load: C10K (`hold`), connection per request
//! (`close`) and a count of keep-alive requests (`keep`). Each is one loop
//! around `epoll_wait`, bounded in time.

use std::time::{Duration, Instant};

use anyhow::Result;
use nix::sys::epoll::EpollEvent;

use crate::pool::{Outcome, Pool};
use crate::report::Tally;
use crate::response::Failure;

/// Events taken from the kernel per epoll_wait.
const EVENTS_PER_WAIT: usize = 1024;

/// The longest single epoll_wait: short enough to open new connections and
/// notice the deadline promptly.
const WAIT_SLICE: Duration = Duration::from_millis(100);

/// Opens `connections` keep-alive connections, sends one request on each,
/// and keeps every answered one open until all are answered (or `deadline`
/// passes), then `hold` longer. At most `max_in_flight` are between connect
/// and answer at any moment, so that the server's listen queue does not
/// overflow: a dropped SYN is retried by TCP only after a second, and the
/// load would measure that timer instead of the server.
pub fn hold(
    pool: &mut Pool,
    connections: usize,
    max_in_flight: usize,
    deadline: Instant,
    hold: Duration,
) -> Result<Tally> {
    let mut tally = Tally::start();
    let mut events = vec![EpollEvent::empty(); EVENTS_PER_WAIT];
    let mut opened = 0;
    let mut in_flight = 0;
    loop {
        while opened < connections && in_flight < max_in_flight {
            opened += 1;
            match pool.open() {
                Ok(()) => in_flight += 1,
                Err(failure) => tally.fail(&failure),
            }
        }
        let now = Instant::now();
        if opened == connections && in_flight == 0 || now >= deadline {
            break;
        }
        let ready = pool.wait(&mut events, (deadline - now).min(WAIT_SLICE))?;
        for event in &events[..ready] {
            match pool.drive(event.data() as usize) {
                Outcome::Pending => {}
                Outcome::Answered { latency } => {
                    in_flight -= 1;
                    tally.answer(latency);
                }
                Outcome::Failed(failure) => {
                    in_flight -= 1;
                    tally.fail(&failure);
                }
                Outcome::LostWhileHeld(failure) => tally.unanswer(&failure),
            }
        }
    }
    // Out of time: what is not answered now failed, and what was never
    // even opened did too.
    let unanswered = pool.close_unanswered() + (connections - opened);
    tally.fail_many(&Failure::Timeout, unanswered as u64);

    // Everyone answered is still open; watch them for the hold time, so
    // that a server that drops idle connections is caught.
    let hold_end = Instant::now() + hold;
    while let Some(left) = hold_end.checked_duration_since(Instant::now()) {
        if left.is_zero() || pool.open_count() == 0 {
            break;
        }
        let ready = pool.wait(&mut events, left.min(WAIT_SLICE))?;
        for event in &events[..ready] {
            if let Outcome::LostWhileHeld(failure) = pool.drive(event.data() as usize) {
                tally.unanswer(&failure);
            }
        }
    }
    pool.reset_all();
    Ok(tally)
}

/// Keeps `concurrency` requests in flight for `duration`, each on a new
/// connection that is closed once its answer is in. Requests still in flight
/// when `duration` ends get until `deadline` to finish.
pub fn connection_per_request(
    pool: &mut Pool,
    concurrency: usize,
    duration: Duration,
    deadline: Instant,
) -> Result<Tally> {
    let mut tally = Tally::start();
    let load_end = Instant::now() + duration;
    let mut events = vec![EpollEvent::empty(); EVENTS_PER_WAIT];
    loop {
        let now = Instant::now();
        let opening = now < load_end;
        while opening && pool.open_count() < concurrency {
            if let Err(failure) = pool.open() {
                tally.fail(&failure);
                // A server that refuses connections would otherwise make
                // this loop spin on failures without ever waiting.
                break;
            }
        }
        if !opening && pool.open_count() == 0 || now >= deadline {
            break;
        }
        let until = if opening { load_end } else { deadline };
        let ready = pool.wait(
            &mut events,
            until.saturating_duration_since(now).min(WAIT_SLICE),
        )?;
        for event in &events[..ready] {
            let slot = event.data() as usize;
            match pool.drive(slot) {
                Outcome::Pending => {}
                Outcome::Answered { latency } => {
                    tally.answer(latency);
                    pool.close(slot);
                }
                Outcome::Failed(failure) | Outcome::LostWhileHeld(failure) => tally.fail(&failure),
            }
        }
    }
    tally.fail_many(&Failure::Timeout, pool.close_unanswered() as u64);
    Ok(tally)
}

/// Opens `connections` keep-alive connections and makes `requests` requests
/// on each, one after the other: the next is sent as soon as an answer is
/// in. A connection is closed (by the client, a FIN) after its last answer;
/// one that fails is not replaced, and its requests not yet made count as
/// failed with it. What is not answered by `deadline` counts as timed out.
pub fn keep_alive(
    pool: &mut Pool,
    connections: usize,
    requests: usize,
    deadline: Instant,
) -> Result<Tally> {
    let mut tally = Tally::start();
    let mut events = vec![EpollEvent::empty(); EVENTS_PER_WAIT];
    // Answers so far, by the connection's slot (slots are numbered from 0
    // as the connections open, and none is reused: none opens later).
    let mut answered = vec![0usize; connections];
    // Requests answered or counted as failed, of connections * requests.
    let mut settled = 0;
    for _ in 0..connections {
        if let Err(failure) = pool.open() {
            tally.fail_many(&failure, requests as u64);
            settled += requests;
        }
    }
    while pool.open_count() > 0 {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        let ready = pool.wait(&mut events, (deadline - now).min(WAIT_SLICE))?;
        for event in &events[..ready] {
            let slot = event.data() as usize;
            let mut outcome = pool.drive(slot);
            if let Outcome::Answered { latency } = outcome {
                tally.answer(latency);
                answered[slot] += 1;
                settled += 1;
                outcome = if answered[slot] == requests {
                    pool.close(slot);
                    Outcome::Pending
                } else {
                    pool.request_again(slot)
                };
            }
            if let Outcome::Failed(failure) | Outcome::LostWhileHeld(failure) = outcome {
                let left = requests - answered[slot];
                tally.fail_many(&failure, left as u64);
                settled += left;
                answered[slot] = requests;
            }
        }
    }
    // Out of time: what is left of the connections still open.
    pool.reset_all();
    let left = connections * requests - settled;
    tally.fail_many(&Failure::Timeout, left as u64);
    Ok(tally)
}
