//! Steady state of a finite continuous-time Markov chain, by GTH state reduction.
//!
//! The chain is given as sparse transitions `(from, to, rate)` between states `0..n`. Its
//! stationary distribution solves `pi Q = 0, sum(pi) = 1`. We solve it with the algorithm of
//! Grassmann, Taksar and Heyman (GTH): states are censored out one at a time, highest index
//! first, and the rates of the censored chain are updated with additions and multiplications
//! only. Textbook Gaussian elimination forms the diagonal `q_ii = -sum_j q_ij` and later
//! subtracts numbers of that size from each other; when rates span many orders of magnitude
//! (server failures at 1e-5/h next to detections at 1e6/h) that cancellation wipes out exactly
//! the tiny probabilities an availability study cares about. GTH never subtracts, so every
//! probability it returns is accurate to a few ulps times the number of states, however stiff
//! the chain and however small the probability (unavailabilities of 1e-12 included).
//!
//! The reduction is dense, `O(m^3)` time and `O(m^2)` memory for `m` reachable states. It is
//! meant for chains of up to a few thousand states; [`MAX_DENSE_STATES`] guards against
//! asking for gigabytes. Rows of the chains we meet stay sparse during the reduction, and the
//! updates skip the zeros, so in practice it runs well below the cubic bound.

use std::collections::VecDeque;

/// Largest number of reachable states the dense solver accepts. The matrix alone takes
/// `8 * m^2` bytes, 800 MB at this limit, and the reduction then runs for seconds (sparse
/// chains) to minutes (dense ones).
pub const MAX_DENSE_STATES: usize = 10_000;

/// Why a chain could not be built or solved.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CtmcError {
    #[error("the Markov chain has no states")]
    Empty,
    #[error("transition {from} -> {to} refers to a state outside 0..{states}")]
    StateOutOfRange {
        from: usize,
        to: usize,
        states: usize,
    },
    #[error("transition {from} -> {to} has rate {rate}; rates must be finite and not negative")]
    InvalidRate { from: usize, to: usize, rate: f64 },
    #[error(
        "the Markov chain is not irreducible: state {state} is reachable from state 0 \
         but cannot return to it"
    )]
    NotIrreducible { state: usize },
    #[error(
        "the Markov chain has {states} reachable states; the dense solver handles at most {limit}"
    )]
    TooManyStates { states: usize, limit: usize },
    #[error("invalid model parameter `{parameter}`: {reason}")]
    InvalidParameter {
        parameter: &'static str,
        reason: String,
    },
}

/// A finite CTMC given by its off-diagonal rates. Parallel transitions add up; self-loops and
/// zero rates are accepted and have no effect (they do not change the stationary law).
#[derive(Debug, Clone, Default)]
pub struct Ctmc {
    states: usize,
    transitions: Vec<(usize, usize, f64)>,
}

impl Ctmc {
    /// A chain with `states` states and no transitions yet.
    pub fn new(states: usize) -> Self {
        Ctmc {
            states,
            transitions: Vec::new(),
        }
    }

    /// A chain with `states` states and the given `(from, to, rate)` transitions.
    pub fn from_transitions(
        states: usize,
        transitions: impl IntoIterator<Item = (usize, usize, f64)>,
    ) -> Result<Self, CtmcError> {
        let mut chain = Ctmc::new(states);
        for (from, to, rate) in transitions {
            chain.add_transition(from, to, rate)?;
        }
        Ok(chain)
    }

    /// Adds `rate` to the rate from `from` to `to`.
    pub fn add_transition(&mut self, from: usize, to: usize, rate: f64) -> Result<(), CtmcError> {
        if from >= self.states || to >= self.states {
            return Err(CtmcError::StateOutOfRange {
                from,
                to,
                states: self.states,
            });
        }
        if !rate.is_finite() || rate < 0.0 {
            return Err(CtmcError::InvalidRate { from, to, rate });
        }
        if from != to && rate > 0.0 {
            self.transitions.push((from, to, rate));
        }
        Ok(())
    }

    /// Number of states, reachable or not.
    pub fn states(&self) -> usize {
        self.states
    }

    /// The stationary distribution of the chain started in state 0.
    ///
    /// The states reachable from state 0 must form one communicating class (every one of them
    /// can return to state 0); states that are not reachable get probability exactly 0.
    pub fn steady_state(&self) -> Result<Vec<f64>, CtmcError> {
        if self.states == 0 {
            return Err(CtmcError::Empty);
        }
        let reachable = self.reachable_class()?;
        if reachable.len() > MAX_DENSE_STATES {
            return Err(CtmcError::TooManyStates {
                states: reachable.len(),
                limit: MAX_DENSE_STATES,
            });
        }
        // Dense index of each original state, for the reachable ones.
        let mut dense_index = vec![usize::MAX; self.states];
        for (dense, &state) in reachable.iter().enumerate() {
            dense_index[state] = dense;
        }
        let m = reachable.len();
        let mut rates = vec![0.0; m * m];
        for &(from, to, rate) in &self.transitions {
            let (i, j) = (dense_index[from], dense_index[to]);
            // Every target of a reachable state is reachable, so `j` is valid whenever `i` is.
            if i != usize::MAX {
                rates[i * m + j] += rate;
            }
        }
        let dense_pi = gth_dense(&mut rates, m)?;
        let mut pi = vec![0.0; self.states];
        for (dense, &state) in reachable.iter().enumerate() {
            pi[state] = dense_pi[dense];
        }
        Ok(pi)
    }

    /// The states reachable from state 0, in increasing order, after checking that each of
    /// them can get back to state 0.
    fn reachable_class(&self) -> Result<Vec<usize>, CtmcError> {
        let n = self.states;
        let mut forward = vec![Vec::new(); n];
        let mut backward = vec![Vec::new(); n];
        for &(from, to, _) in &self.transitions {
            forward[from].push(to);
            backward[to].push(from);
        }
        let reaches_from_0 = flood(&forward, 0);
        let returns_to_0 = flood(&backward, 0);
        let mut class = Vec::new();
        for state in 0..n {
            if reaches_from_0[state] {
                if !returns_to_0[state] {
                    return Err(CtmcError::NotIrreducible { state });
                }
                class.push(state);
            }
        }
        Ok(class)
    }
}

/// Marks every node reachable from `start` along `edges`.
fn flood(edges: &[Vec<usize>], start: usize) -> Vec<bool> {
    let mut seen = vec![false; edges.len()];
    let mut queue = VecDeque::from([start]);
    seen[start] = true;
    while let Some(node) = queue.pop_front() {
        for &next in &edges[node] {
            if !seen[next] {
                seen[next] = true;
                queue.push_back(next);
            }
        }
    }
    seen
}

/// GTH on a dense, row-major `m x m` matrix of off-diagonal rates (the diagonal is ignored).
/// The matrix is overwritten. The chain must be irreducible.
fn gth_dense(a: &mut [f64], m: usize) -> Result<Vec<f64>, CtmcError> {
    // exit_rate[k]: total rate out of state k towards states 0..k in the chain censored on
    // 0..=k. It is a sum of positive terms, so it is accurate even when it is tiny.
    let mut exit_rate = vec![0.0; m];
    // The nonzero jump probabilities out of the state being censored. Rows stay sparse for
    // the chains we build (about a tenth of the entries fill in), so visiting only these
    // beats a dense sweep; the buffer is allocated once.
    let mut jumps: Vec<(usize, f64)> = Vec::with_capacity(m);
    for k in (1..m).rev() {
        let (above, from_k) = a.split_at_mut(k * m);
        let row_k = &from_k[..k];
        let exit: f64 = row_k.iter().sum();
        if exit.is_nan() || exit <= 0.0 {
            // Irreducibility was checked on the graph, so only underflow can get here.
            return Err(CtmcError::NotIrreducible { state: k });
        }
        exit_rate[k] = exit;
        // Censor k: a visit i -> k is replaced by a jump i -> j with the probability that k
        // jumps to j.
        jumps.clear();
        jumps.extend(
            row_k
                .iter()
                .enumerate()
                .filter(|&(_, &rate)| rate != 0.0)
                .map(|(j, &rate)| (j, rate / exit)),
        );
        for row_i in above.chunks_exact_mut(m) {
            let into_k = row_i[k];
            if into_k == 0.0 {
                continue;
            }
            for &(j, p) in &jumps {
                row_i[j] += into_k * p;
            }
        }
    }
    // Back substitution: in the chain censored on 0..=k, the balance of state k reads
    // pi_k * exit_rate[k] = sum_{i<k} pi_i * rate(i -> k).
    let mut pi = vec![0.0; m];
    pi[0] = 1.0;
    for k in 1..m {
        let inflow: f64 = (0..k).map(|i| pi[i] * a[i * m + k]).sum();
        pi[k] = inflow / exit_rate[k];
    }
    let total: f64 = pi.iter().sum();
    for p in &mut pi {
        *p /= total;
    }
    Ok(pi)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relative_error(actual: f64, expected: f64) -> f64 {
        ((actual - expected) / expected).abs()
    }

    #[test]
    fn two_state_chain_matches_closed_form() {
        let (lambda, mu) = (0.002, 0.25);
        let chain = Ctmc::from_transitions(2, [(0, 1, lambda), (1, 0, mu)]).unwrap();
        let pi = chain.steady_state().unwrap();
        assert!(relative_error(pi[0], mu / (lambda + mu)) < 1e-15);
        assert!(relative_error(pi[1], lambda / (lambda + mu)) < 1e-15);
    }

    #[test]
    fn single_state_chain_has_probability_one() {
        assert_eq!(Ctmc::new(1).steady_state().unwrap(), vec![1.0]);
    }

    /// Birth–death chain: pi_k is proportional to prod_{i<k} birth_i / death_{i+1}.
    #[test]
    fn birth_death_chain_matches_product_form() {
        let n = 12;
        let birth = |k: usize| 0.3 * (n - 1 - k) as f64 + 0.01;
        let death = |k: usize| 2.0 * k as f64;
        let mut chain = Ctmc::new(n);
        for k in 0..n - 1 {
            chain.add_transition(k, k + 1, birth(k)).unwrap();
            chain.add_transition(k + 1, k, death(k + 1)).unwrap();
        }
        let pi = chain.steady_state().unwrap();
        let mut weights = vec![1.0];
        for k in 1..n {
            weights.push(weights[k - 1] * birth(k - 1) / death(k));
        }
        let total: f64 = weights.iter().sum();
        for k in 0..n {
            assert!(
                relative_error(pi[k], weights[k] / total) < 1e-13,
                "state {k}"
            );
        }
    }

    /// A cycle 0 -> 1 -> ... -> n-1 -> 0: pi_k is proportional to 1 / rate_k. Large enough
    /// to exercise the fill-in of the reduction.
    #[test]
    fn long_cycle_matches_closed_form() {
        let n = 300;
        let rate = |k: usize| 10f64.powi((k % 11) as i32 - 5);
        let chain = Ctmc::from_transitions(n, (0..n).map(|k| (k, (k + 1) % n, rate(k)))).unwrap();
        let pi = chain.steady_state().unwrap();
        let total: f64 = (0..n).map(|k| 1.0 / rate(k)).sum();
        for (k, &p) in pi.iter().enumerate() {
            assert!(
                relative_error(p, 1.0 / rate(k) / total) < 1e-12,
                "state {k}"
            );
        }
    }

    /// The stiff chain below: 0 <-> 1 at 1e6/h, 1 -> 2 at 1e-5/h, 2 -> 0 at 5e4/h.
    /// Balance gives pi_2 = 2e-10 pi_1 and pi_0 = pi_1 + 0.05 pi_2 exactly.
    fn stiff_chain() -> (Ctmc, f64) {
        let chain =
            Ctmc::from_transitions(3, [(0, 1, 1e6), (1, 0, 1e6), (1, 2, 1e-5), (2, 0, 5e4)])
                .unwrap();
        let pi_1 = 1.0 / (2.0 + 0.05 * 2e-10 + 2e-10);
        (chain, 2e-10 * pi_1)
    }

    #[test]
    fn stiff_chain_keeps_tiny_probability_accurate() {
        let (chain, expected_pi_2) = stiff_chain();
        let pi = chain.steady_state().unwrap();
        assert!(expected_pi_2 > 9e-11 && expected_pi_2 < 1.1e-10);
        assert!(
            relative_error(pi[2], expected_pi_2) < 1e-9,
            "pi_2 = {:e}, expected {expected_pi_2:e}",
            pi[2]
        );
    }

    /// Shows why GTH is needed: plain elimination of Q^T (normalisation in the last row) on
    /// the same stiff chain loses several digits of pi_2 to cancellation.
    #[test]
    fn naive_elimination_loses_the_tiny_probability() {
        let (chain, expected_pi_2) = stiff_chain();
        let naive = naive_gaussian_steady_state(&chain);
        let gth = chain.steady_state().unwrap();
        let naive_error = relative_error(naive[2], expected_pi_2);
        let gth_error = relative_error(gth[2], expected_pi_2);
        assert!(naive_error > 1e-9, "naive error {naive_error:e}");
        assert!(gth_error < naive_error / 1000.0, "gth error {gth_error:e}");
    }

    /// Gaussian elimination with partial pivoting on Q^T pi = 0, the last equation replaced
    /// by sum(pi) = 1: the method GTH replaces.
    fn naive_gaussian_steady_state(chain: &Ctmc) -> Vec<f64> {
        let n = chain.states();
        let mut q_t = vec![vec![0.0; n + 1]; n];
        for &(from, to, rate) in &chain.transitions {
            q_t[to][from] += rate;
            q_t[from][from] -= rate;
        }
        q_t[n - 1] = vec![1.0; n + 1];
        for col in 0..n {
            let pivot = (col..n)
                .max_by(|&a, &b| q_t[a][col].abs().total_cmp(&q_t[b][col].abs()))
                .unwrap();
            q_t.swap(col, pivot);
            let pivot_row = q_t[col].clone();
            for row in &mut q_t[col + 1..] {
                let factor = row[col] / pivot_row[col];
                for (x, &y) in row[col..].iter_mut().zip(&pivot_row[col..]) {
                    *x -= factor * y;
                }
            }
        }
        let mut pi = vec![0.0; n];
        for row in (0..n).rev() {
            let known: f64 = (row + 1..n).map(|c| q_t[row][c] * pi[c]).sum();
            pi[row] = (q_t[row][n] - known) / q_t[row][row];
        }
        pi
    }

    #[test]
    fn stiff_birth_death_chain_spanning_eleven_decades() {
        // Failures at 1e-5/h, repairs at 1e6/h: pi_k = (1e-11)^k / total, down to 1e-44.
        let n = 5;
        let mut chain = Ctmc::new(n);
        for k in 0..n - 1 {
            chain.add_transition(k, k + 1, 1e-5).unwrap();
            chain.add_transition(k + 1, k, 1e6).unwrap();
        }
        let pi = chain.steady_state().unwrap();
        let ratio: f64 = 1e-11;
        let total: f64 = (0..n).map(|k| ratio.powi(k as i32)).sum();
        for (k, &p) in pi.iter().enumerate() {
            assert!(
                relative_error(p, ratio.powi(k as i32) / total) < 1e-12,
                "state {k}"
            );
        }
    }

    #[test]
    fn unreachable_states_get_zero_probability() {
        // State 2 only leads into the class {0, 1}; nothing leads to it.
        let chain = Ctmc::from_transitions(3, [(0, 1, 1.0), (1, 0, 3.0), (2, 0, 5.0)]).unwrap();
        let pi = chain.steady_state().unwrap();
        assert_eq!(pi[2], 0.0);
        assert!(relative_error(pi[0], 0.75) < 1e-15);
    }

    #[test]
    fn parallel_transitions_add_up_and_self_loops_are_ignored() {
        let chain = Ctmc::from_transitions(2, [(0, 1, 1.0), (0, 1, 2.0), (0, 0, 7.0), (1, 0, 1.0)])
            .unwrap();
        let pi = chain.steady_state().unwrap();
        assert!(relative_error(pi[1], 0.75) < 1e-15);
    }

    #[test]
    fn empty_chain_is_an_error() {
        assert_eq!(Ctmc::new(0).steady_state(), Err(CtmcError::Empty));
    }

    #[test]
    fn absorbing_state_is_reported() {
        let chain = Ctmc::from_transitions(3, [(0, 1, 1.0), (1, 0, 1.0), (1, 2, 1.0)]).unwrap();
        assert_eq!(
            chain.steady_state(),
            Err(CtmcError::NotIrreducible { state: 2 })
        );
    }

    #[test]
    fn bad_transitions_are_rejected() {
        let mut chain = Ctmc::new(2);
        assert!(matches!(
            chain.add_transition(0, 2, 1.0),
            Err(CtmcError::StateOutOfRange { .. })
        ));
        assert!(matches!(
            chain.add_transition(0, 1, -1.0),
            Err(CtmcError::InvalidRate { .. })
        ));
        assert!(matches!(
            chain.add_transition(0, 1, f64::NAN),
            Err(CtmcError::InvalidRate { .. })
        ));
        assert!(matches!(
            chain.add_transition(0, 1, f64::INFINITY),
            Err(CtmcError::InvalidRate { .. })
        ));
    }

    #[test]
    fn too_large_chain_is_refused_before_allocating() {
        let n = MAX_DENSE_STATES + 1;
        let chain = Ctmc::from_transitions(n, (0..n).map(|k| (k, (k + 1) % n, 1.0))).unwrap();
        assert_eq!(
            chain.steady_state(),
            Err(CtmcError::TooManyStates {
                states: n,
                limit: MAX_DENSE_STATES
            })
        );
    }
}
