//! The health of one endpoint as a pure state machine: health-check answers and call outcomes
//! in, "may it be chosen" out. It reads no clock and does no I/O (callers pass the time), so its
//! tests drive it with instants they make up.

use tokio::time::Instant;

/// What the balancer knows of an endpoint, as `/readyz`, the logs and the metrics show it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EndpointState {
    /// Not checked yet. Chosen all the same: an endpoint is innocent until proven otherwise, so
    /// the first calls after start (or after a pod appears in DNS) do not wait for a health
    /// check, and a dead one is taken out by its first check or its failed calls.
    Unknown,
    /// The last health check answered SERVING.
    Serving,
    /// The last health check answered something else than SERVING: the server asks not to be
    /// chosen, as ours do while they drain before stopping.
    NotServing,
    /// The last health check got no answer: no connection, or none within its timeout.
    Unreachable,
    /// Its calls failed too many times in a row. Out until a health check that started after
    /// the ejection answers SERVING.
    Ejected,
}

impl EndpointState {
    /// Whether the balancer may send a call there.
    pub fn is_available(self) -> bool {
        matches!(self, Self::Unknown | Self::Serving)
    }

    /// The name `/readyz` and the logs use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "UNKNOWN",
            Self::Serving => "SERVING",
            Self::NotServing => "NOT_SERVING",
            Self::Unreachable => "UNREACHABLE",
            Self::Ejected => "EJECTED",
        }
    }
}

impl std::fmt::Display for EndpointState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a health check found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probe {
    Serving,
    NotServing,
    /// No answer: connection refused, reset, or the timeout ran out.
    Failed,
}

/// How a real call through the endpoint ended, as far as the endpoint's health goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallOutcome {
    /// The server answered, whatever the answer (NOT_FOUND is an answer).
    Answered,
    /// A transport error or UNAVAILABLE: the server could not take the call.
    Failed,
    /// Says nothing about the endpoint: the caller's deadline ran out first. A slow answer is
    /// not a dead server, and a client with a short deadline must not eject healthy ones.
    Neutral,
}

/// A change of availability, for the logs and the metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    /// It may be chosen again.
    Up,
    /// It is no longer chosen, and this is why.
    Down(EndpointState),
}

/// One endpoint's health.
#[derive(Clone, Debug)]
pub struct Health {
    /// What the last health check said (never `Ejected`).
    checked: EndpointState,
    /// When consecutive failures took it out, until a later check readmits it.
    ejected_at: Option<Instant>,
    /// Failed calls since the last answered one.
    failures: u32,
}

impl Default for Health {
    fn default() -> Self {
        Self::new()
    }
}

impl Health {
    pub fn new() -> Self {
        Self {
            checked: EndpointState::Unknown,
            ejected_at: None,
            failures: 0,
        }
    }

    pub fn state(&self) -> EndpointState {
        if self.ejected_at.is_some() {
            EndpointState::Ejected
        } else {
            self.checked
        }
    }

    pub fn is_available(&self) -> bool {
        self.state().is_available()
    }

    /// Takes in a health check that started at `started`.
    ///
    /// Only a check that *started* after the ejection readmits an ejected endpoint: one already
    /// on its way when the calls failed may have been answered before the server broke.
    pub fn on_probe(&mut self, started: Instant, probe: Probe) -> Option<Transition> {
        let was_available = self.is_available();
        self.checked = match probe {
            Probe::Serving => EndpointState::Serving,
            Probe::NotServing => EndpointState::NotServing,
            Probe::Failed => EndpointState::Unreachable,
        };
        if probe == Probe::Serving && self.ejected_at.is_some_and(|at| started >= at) {
            self.ejected_at = None;
            self.failures = 0;
        }
        self.transition(was_available)
    }

    /// Takes in how a call ended at `now`; `eject_after` consecutive failures eject it (0: never).
    pub fn on_call(
        &mut self,
        now: Instant,
        outcome: CallOutcome,
        eject_after: u32,
    ) -> Option<Transition> {
        match outcome {
            CallOutcome::Answered => {
                self.failures = 0;
                None
            }
            CallOutcome::Neutral => None,
            CallOutcome::Failed => {
                self.failures = self.failures.saturating_add(1);
                if eject_after == 0 || self.failures < eject_after || self.ejected_at.is_some() {
                    return None;
                }
                let was_available = self.is_available();
                self.ejected_at = Some(now);
                self.transition(was_available)
            }
        }
    }

    fn transition(&self, was_available: bool) -> Option<Transition> {
        match (was_available, self.is_available()) {
            (false, true) => Some(Transition::Up),
            (true, false) => Some(Transition::Down(self.state())),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const EJECT_AFTER: u32 = 3;

    fn at(t0: Instant, ms: u64) -> Instant {
        t0 + Duration::from_millis(ms)
    }

    fn fail(health: &mut Health, now: Instant, times: u32) -> Option<Transition> {
        (0..times)
            .map(|_| health.on_call(now, CallOutcome::Failed, EJECT_AFTER))
            .fold(None, |last, t| t.or(last))
    }

    #[test]
    fn a_new_endpoint_is_chosen_before_its_first_check() {
        let health = Health::new();
        assert_eq!(health.state(), EndpointState::Unknown);
        assert!(health.is_available());
    }

    #[test]
    fn not_serving_takes_it_out_and_serving_brings_it_back() {
        let t0 = Instant::now();
        let mut health = Health::new();
        assert_eq!(
            health.on_probe(t0, Probe::NotServing),
            Some(Transition::Down(EndpointState::NotServing))
        );
        assert!(!health.is_available());
        assert_eq!(health.on_probe(at(t0, 2000), Probe::NotServing), None);
        assert_eq!(
            health.on_probe(at(t0, 4000), Probe::Serving),
            Some(Transition::Up)
        );
        assert_eq!(health.state(), EndpointState::Serving);
    }

    #[test]
    fn a_check_without_answer_makes_it_unreachable() {
        let t0 = Instant::now();
        let mut health = Health::new();
        assert_eq!(
            health.on_probe(t0, Probe::Serving),
            None,
            "unknown → serving"
        );
        assert_eq!(
            health.on_probe(at(t0, 2000), Probe::Failed),
            Some(Transition::Down(EndpointState::Unreachable))
        );
    }

    #[test]
    fn consecutive_failures_eject_it_at_the_threshold() {
        let t0 = Instant::now();
        let mut health = Health::new();
        health.on_probe(t0, Probe::Serving);
        assert_eq!(fail(&mut health, at(t0, 10), EJECT_AFTER - 1), None);
        assert!(health.is_available());
        assert_eq!(
            fail(&mut health, at(t0, 20), 1),
            Some(Transition::Down(EndpointState::Ejected))
        );
        assert_eq!(health.state(), EndpointState::Ejected);
        assert_eq!(fail(&mut health, at(t0, 30), 5), None, "ejected once");
    }

    #[test]
    fn an_answered_call_resets_the_count_and_a_late_deadline_does_not_count() {
        let t0 = Instant::now();
        let mut health = Health::new();
        fail(&mut health, t0, EJECT_AFTER - 1);
        health.on_call(t0, CallOutcome::Answered, EJECT_AFTER);
        fail(&mut health, t0, EJECT_AFTER - 1);
        for _ in 0..10 {
            health.on_call(t0, CallOutcome::Neutral, EJECT_AFTER);
        }
        assert!(
            health.is_available(),
            "never {EJECT_AFTER} failures in a row"
        );
    }

    #[test]
    fn an_ejected_endpoint_comes_back_only_by_a_check_started_after_the_ejection() {
        let t0 = Instant::now();
        let mut health = Health::new();
        health.on_probe(t0, Probe::Serving);
        fail(&mut health, at(t0, 1000), EJECT_AFTER);

        // Started before the failures: its SERVING may predate the breakage.
        assert_eq!(health.on_probe(at(t0, 900), Probe::Serving), None);
        assert_eq!(health.state(), EndpointState::Ejected);
        // Later checks that fail keep it out.
        assert_eq!(health.on_probe(at(t0, 2000), Probe::Failed), None);
        assert_eq!(health.on_probe(at(t0, 4000), Probe::NotServing), None);
        assert_eq!(health.state(), EndpointState::Ejected);

        assert_eq!(
            health.on_probe(at(t0, 6000), Probe::Serving),
            Some(Transition::Up)
        );
        assert_eq!(health.state(), EndpointState::Serving);
        // Readmitted with a clean slate: one failure does not eject it again.
        assert_eq!(fail(&mut health, at(t0, 6100), 1), None);
        assert!(health.is_available());
    }

    #[test]
    fn failures_of_an_endpoint_already_out_are_no_second_ejection() {
        let t0 = Instant::now();
        let mut health = Health::new();
        health.on_probe(t0, Probe::NotServing);
        // Calls already in flight when it went NOT_SERVING fail; it is out already.
        assert_eq!(fail(&mut health, at(t0, 10), EJECT_AFTER), None);
        // It stays out until a check after those failures says SERVING.
        assert_eq!(health.state(), EndpointState::Ejected);
        assert_eq!(
            health.on_probe(at(t0, 2000), Probe::Serving),
            Some(Transition::Up)
        );
    }

    #[test]
    fn a_threshold_of_zero_never_ejects() {
        let t0 = Instant::now();
        let mut health = Health::new();
        for _ in 0..100 {
            assert_eq!(health.on_call(t0, CallOutcome::Failed, 0), None);
        }
        assert!(health.is_available());
    }
}
