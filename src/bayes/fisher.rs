//! Fisher's method of combining token probabilities, as Gary Robinson
//! proposed for spam filtering and SpamBayes and bogofilter use it: under
//! the hypothesis that a message's tokens are random, `-2 Σ ln f` follows a
//! chi-square distribution with `2n` degrees of freedom; how far it is in
//! the tail measures how far from random (how spammy, or how hammy) the
//! tokens are. Testing both ways gives two measures, and their difference
//! one indicator that is near 0.5 when the evidence is weak or conflicting.

/// The two one-sided measures and the indicator of one message.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Combined {
    /// How strongly the tokens say spam (0 to 1).
    pub spam: f64,
    /// How strongly the tokens say ham (0 to 1).
    pub ham: f64,
    /// `(1 + spam − ham) / 2`: near 1 spam, near 0 ham, near 0.5 unsure
    /// (weak evidence, or strong evidence both ways).
    pub indicator: f64,
}

/// Combines token probabilities `f` (each strictly between 0 and 1).
/// Without any, the indicator is 0.5: nothing is known.
pub(super) fn combine(probabilities: impl IntoIterator<Item = f64>) -> Combined {
    let (mut ln_f, mut ln_not_f, mut n) = (0.0, 0.0, 0usize);
    for f in probabilities {
        ln_f += f.ln();
        ln_not_f += (1.0 - f).ln();
        n += 1;
    }
    if n == 0 {
        return Combined {
            spam: 0.0,
            ham: 0.0,
            indicator: 0.5,
        };
    }
    // Many tokens near 1 make Σ ln(1 − f) very negative: far in the tail,
    // chi2q small, spam near 1. Sums of logs, never products, so hundreds
    // of tiny probabilities do not underflow.
    let spam = 1.0 - chi2q(-2.0 * ln_not_f, 2 * n);
    let ham = 1.0 - chi2q(-2.0 * ln_f, 2 * n);
    Combined {
        spam,
        ham,
        indicator: (1.0 + spam - ham) / 2.0,
    }
}

/// The probability that a chi-square variable with `dof` (even) degrees of
/// freedom is at least `x2`: the closed form for even degrees,
/// `e^−m Σ_{i<dof/2} m^i / i!` with `m = x2/2`. Each term is computed in
/// log space so that `e^−m` underflowing (m over about 745) cannot zero
/// terms that are not small.
pub(super) fn chi2q(x2: f64, dof: usize) -> f64 {
    let m = x2 / 2.0;
    if m <= 0.0 {
        return 1.0;
    }
    let ln_m = m.ln();
    let mut ln_term = -m;
    let mut sum = ln_term.exp();
    for i in 1..dof / 2 {
        ln_term += ln_m - (i as f64).ln();
        sum += ln_term.exp();
    }
    sum.min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn chi2q_matches_the_closed_form() {
        // 2 dof: e^(−x/2).
        assert!(close(chi2q(2.0 * 10f64.ln(), 2), 0.1));
        // 4 dof at 4: e^−2 (1 + 2) = 3 e^−2.
        assert!(close(chi2q(4.0, 4), 3.0 * (-2f64).exp()));
        // 6 dof at 10: e^−5 (1 + 5 + 12.5).
        assert!(close(chi2q(10.0, 6), 18.5 * (-5f64).exp()));
        assert_eq!(chi2q(0.0, 8), 1.0);
        // Far tail with many degrees: tiny but not zeroed by underflow.
        let far = chi2q(1600.0, 300);
        assert!(far > 0.0 && far < 1e-100, "{far}");
    }

    #[test]
    fn one_token_combines_to_itself() {
        let c = combine([0.9]);
        assert!(close(c.spam, 0.9) && close(c.ham, 0.1), "{c:?}");
        assert!(close(c.indicator, 0.9));
    }

    #[test]
    fn known_combinations() {
        // Two tokens at 0.9, 4 degrees of freedom: spam = 1 − e^−m (1 + m)
        // with m = −2 ln 0.1 = 2 ln 10, so 1 − 0.01 (1 + 2 ln 10); ham the
        // same with m = −2 ln 0.9, so 1 − 0.81 (1 − 2 ln 0.9).
        let c = combine([0.9, 0.9]);
        let spam = 1.0 - 0.01 * (1.0 + 2.0 * 10f64.ln());
        let ham = 1.0 - 0.81 * (1.0 - 2.0 * 0.9f64.ln());
        assert!(close(c.spam, spam) && close(c.ham, ham), "{c:?}");
        assert!(close(c.indicator, 0.962_316_166_752_898_8), "{c:?}");
        // Mixed evidence, computed by hand from the same formula.
        let c = combine([0.99, 0.2, 0.7]);
        assert!(close(c.indicator, 0.811_292_183_163_193_2), "{c:?}");
        // Strong evidence both ways is unsure, not certain.
        let c = combine([0.01, 0.02, 0.99]);
        assert!(close(c.indicator, 0.425_088_017_472_811), "{c:?}");
    }

    #[test]
    fn nothing_known_is_unsure() {
        assert_eq!(combine([]).indicator, 0.5);
    }

    #[test]
    fn hundreds_of_extreme_tokens_stay_finite() {
        let c = combine(std::iter::repeat_n(0.001, 150));
        assert!(c.indicator < 1e-10 && c.indicator >= 0.0, "{c:?}");
        let c = combine(std::iter::repeat_n(0.999, 150));
        assert!(c.indicator > 1.0 - 1e-10 && c.indicator <= 1.0, "{c:?}");
    }
}
