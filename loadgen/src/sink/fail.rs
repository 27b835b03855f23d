//! Injected failures (`--fail 0.1:4xx,0.05:close`): how an upstream misbehaves.
//!
//! ringwall promises never to lose mail, so its tests need an upstream that
//! tempfails, rejects, hangs or hangs up at a known rate. The plan here is
//! only data; the dice that pick from it live in each session, seeded, so a
//! run that exposed a bug can be replayed exactly.

use std::str::FromStr;

use super::rng::SplitMix64;
use super::smtp::Outcome;

/// The `--fail` actions decided at end-of-data, by their command-line names.
/// `lose` and `duplicate` break the sink's own promise and exist only so
/// tests can show that `--verify-against` catches a sink that does.
const END_OF_DATA_ACTIONS: [(&str, Outcome); 6] = [
    ("4xx", Outcome::Tempfail),
    ("5xx", Outcome::Reject),
    ("timeout", Outcome::Timeout),
    ("close", Outcome::Close),
    ("lose", Outcome::Lose),
    ("duplicate", Outcome::Duplicate),
];

/// The `--fail` action decided per RCPT: refuse it with 550 5.1.1.
const RECIPIENT_ACTION: &str = "rcpt5xx";

/// Why a `--fail` value was refused, worded for the person who typed it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FailSpecError {
    /// An entry is not `RATE:ACTION`.
    #[error("`{0}` is not RATE:ACTION (for example 0.1:4xx)")]
    Shape(String),
    /// The rate is not a number from 0 to 1.
    #[error("rate `{0}` must be a number from 0 to 1")]
    Rate(String),
    /// The action is not one the sink knows.
    #[error("unknown action `{0}`: use 4xx, 5xx, timeout, close, rcpt5xx, lose or duplicate")]
    Action(String),
    /// The end-of-data rates, or the recipient rates, add up to more than 1.
    #[error("the rates for {0} add up to more than 1")]
    Overbooked(&'static str),
}

/// A set of failure rates, parsed from `RATE:ACTION[,RATE:ACTION...]`.
///
/// ACTION is `4xx` (451 4.3.0 at end-of-data), `5xx` (554 5.6.0 at
/// end-of-data), `timeout` (never answer end-of-data, hold the connection),
/// `close` (close instead of answering end-of-data), `rcpt5xx` (550 5.1.1
/// to a RCPT), or, as test-only fault injection, `lose` (250, then forget the
/// message) and `duplicate` (250, and keep the message twice). End-of-data
/// actions share one draw per message, so their rates add up to at most 1;
/// `rcpt5xx` has its own draw per recipient. The default plan injects
/// nothing and draws nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FailPlan {
    /// End-of-data actions with their rates, in the order given.
    end_of_data: Vec<(f64, Outcome)>,
    /// Probability that a RCPT is refused.
    recipient: f64,
}

impl FailPlan {
    /// Rolls the dice for one end-of-data and says which failure, if any, to
    /// act out; draws nothing when the plan has no end-of-data rates.
    pub(crate) fn at_end_of_data(&self, dice: &mut SplitMix64) -> Option<Outcome> {
        if self.end_of_data.is_empty() {
            return None;
        }
        let draw = dice.next_f64();
        let mut bound = 0.0;
        self.end_of_data.iter().find_map(|&(rate, outcome)| {
            bound += rate;
            (draw < bound).then_some(outcome)
        })
    }

    /// Rolls the dice for one RCPT: true if it is to be refused.
    pub(crate) fn refuses_recipient(&self, dice: &mut SplitMix64) -> bool {
        self.recipient > 0.0 && dice.next_f64() < self.recipient
    }
}

impl FromStr for FailPlan {
    type Err = FailSpecError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let mut plan = Self::default();
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (rate, action) = entry
                .split_once(':')
                .ok_or_else(|| FailSpecError::Shape(entry.to_owned()))?;
            let rate = rate
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|rate| (0.0..=1.0).contains(rate))
                .ok_or_else(|| FailSpecError::Rate(rate.to_owned()))?;
            let action = action.trim();
            if action.eq_ignore_ascii_case(RECIPIENT_ACTION) {
                plan.recipient += rate;
            } else {
                let &(_, outcome) = END_OF_DATA_ACTIONS
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(action))
                    .ok_or_else(|| FailSpecError::Action(action.to_owned()))?;
                plan.end_of_data.push((rate, outcome));
            }
        }
        // A little slack so that e.g. 0.7 + 0.2 + 0.1 is not refused over
        // floating-point rounding.
        const SLACK: f64 = 1e-9;
        if plan.end_of_data.iter().map(|&(rate, _)| rate).sum::<f64>() > 1.0 + SLACK {
            return Err(FailSpecError::Overbooked("end-of-data actions"));
        }
        if plan.recipient > 1.0 + SLACK {
            return Err(FailSpecError::Overbooked("rcpt5xx"));
        }
        Ok(plan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_several_rules() {
        let plan: FailPlan = "0.1:4xx, 0.05:close,0.5:rcpt5xx".parse().unwrap();
        assert_eq!(
            plan.end_of_data,
            vec![(0.1, Outcome::Tempfail), (0.05, Outcome::Close)]
        );
        assert_eq!(plan.recipient, 0.5);
    }

    #[test]
    fn reads_the_test_only_faults() {
        let plan: FailPlan = "0.2:lose,0.2:DUPLICATE".parse().unwrap();
        assert_eq!(
            plan.end_of_data,
            vec![(0.2, Outcome::Lose), (0.2, Outcome::Duplicate)]
        );
    }

    #[test]
    fn refuses_bad_specs() {
        assert_eq!(
            "4xx".parse::<FailPlan>(),
            Err(FailSpecError::Shape("4xx".into()))
        );
        assert_eq!(
            "1.5:4xx".parse::<FailPlan>(),
            Err(FailSpecError::Rate("1.5".into()))
        );
        assert_eq!(
            "0.1:boom".parse::<FailPlan>(),
            Err(FailSpecError::Action("boom".into()))
        );
        assert!(matches!(
            "0.6:4xx,0.6:5xx".parse::<FailPlan>(),
            Err(FailSpecError::Overbooked(_))
        ));
        assert!("0.7:4xx,0.2:5xx,0.1:close".parse::<FailPlan>().is_ok());
    }

    #[test]
    fn certain_failure_always_fires() {
        let plan: FailPlan = "1:5xx,1:rcpt5xx".parse().unwrap();
        let mut dice = SplitMix64::new(7);
        for _ in 0..1000 {
            assert_eq!(plan.at_end_of_data(&mut dice), Some(Outcome::Reject));
            assert!(plan.refuses_recipient(&mut dice));
        }
    }

    #[test]
    fn rates_are_honoured_roughly() {
        let plan: FailPlan = "0.25:4xx,0.25:timeout".parse().unwrap();
        let mut dice = SplitMix64::new(1);
        let draws: Vec<_> = (0..10_000)
            .map(|_| plan.at_end_of_data(&mut dice))
            .collect();
        let share = |want| draws.iter().filter(|&&got| got == want).count();
        for want in [Some(Outcome::Tempfail), Some(Outcome::Timeout)] {
            assert!((2_250..2_750).contains(&share(want)), "{want:?}");
        }
    }

    #[test]
    fn empty_plan_draws_nothing() {
        let plan = FailPlan::default();
        let mut dice = SplitMix64::new(3);
        let before = dice.clone();
        assert_eq!(plan.at_end_of_data(&mut dice), None);
        assert!(!plan.refuses_recipient(&mut dice));
        assert_eq!(dice, before);
    }
}
