//! rand_distr's standard exponential draw (`Exp1`) with its common case inline.
//!
//! `Exp1` is Marsaglia and Tsang's ziggurat: 256 boxes whose right edges are `X[0..256]`
//! (`X[256] = 0`). One 64-bit number picks box `i` (its low 8 bits) and a uniform `u` in (0, 1)
//! (its high 52 bits); `x = u·X[i]` is the draw if it is below `X[i + 1]`, which 99% of draws
//! are. The rest (the wedges and the tail) draw more numbers. rand_distr keeps all of it in one
//! function that is not inlined, whose entry and exit save and restore the registers of the
//! rare cases: more instructions on every draw than the common case itself, and the models
//! draw a few hundred times per replication.
//!
//! Here the common case runs on a copy of the stream; any other case leaves the stream as it
//! was and hands it to rand_distr, which draws exactly as if nothing had been tried. So every
//! draw is rand_distr's, bit for bit, as long as the edges `X` are rand_distr's. They are
//! computed from the ziggurat's definition, and checked once against rand_distr's own sampler
//! (`matches_rand_distr`): where the check fails (another libm, another rand_distr), there are
//! no boxes and every draw goes through rand_distr.

use std::sync::OnceLock;

use rand::RngCore;
use rand_distr::{Distribution, Exp1};

use crate::engine::Stream;

/// Boxes of the ziggurat.
const BOXES: usize = 256;

/// The ziggurat's right edge of the base strip, `r`, and the area of each box, `v`
/// (Marsaglia and Tsang, "The Ziggurat Method for Generating Random Variables", 2000, for
/// the exponential density with 256 boxes), to the nearest double.
const R: f64 = 7.697_117_470_131_05;
const V: f64 = 0.003_949_659_822_581_557;

/// The right edges of the boxes, `X[0..=256]` (a `Dist::Exponential` keeps a reference).
#[derive(Debug)]
pub struct Edges([f64; BOXES + 1]);

/// The edges, if they are rand_distr's (computed and checked on first use).
pub(super) fn edges() -> Option<&'static Edges> {
    static EDGES: OnceLock<Option<Edges>> = OnceLock::new();
    EDGES
        .get_or_init(|| Some(Edges::compute()).filter(Edges::matches_rand_distr))
        .as_ref()
}

impl Edges {
    /// Box `i` spans `[0, X[i])` under the density at `X[i]`, with area `v`: from the base
    /// strip's edge `r`, each edge is where the density reaches the previous box's top.
    /// `X[0]` is the base strip's width were it a box (`v / f(r)`), `X[256]` the peak's 0.
    fn compute() -> Edges {
        let density = |x: f64| (-x).exp();
        let mut x = [0.0; BOXES + 1];
        x[0] = V / density(R);
        x[1] = R;
        for i in 2..BOXES {
            x[i] = -(V / x[i - 1] + density(x[i - 1])).ln();
        }
        Edges(x)
    }

    /// The 64-bit number `bits` as `Exp1` reads it: the uniform in (0, 1) from its high 52
    /// bits (a double in [1, 2) less just under 1), and the box from its low 8 bits.
    #[inline(always)]
    fn split(bits: u64) -> (f64, usize) {
        const ONE: u64 = 1023 << 52;
        let u = f64::from_bits(ONE | bits >> 12) - (1.0 - f64::EPSILON / 2.0);
        (u, (bits & 0xff) as usize)
    }

    /// The draw that `bits` makes if it falls in the common case.
    #[inline(always)]
    fn common_case(&self, bits: u64) -> Option<f64> {
        let (u, i) = Self::split(bits);
        let x = u * self.0[i];
        (x < self.0[i + 1]).then_some(x)
    }

    /// One standard exponential draw from `stream`, as `Exp1` draws it.
    #[inline(always)]
    pub(super) fn draw(&self, stream: &mut Stream) -> f64 {
        let mut ahead = stream.clone();
        match self.common_case(ahead.next_u64()) {
            Some(x) => {
                *stream = ahead;
                x
            }
            None => rare_case(stream),
        }
    }

    /// Whether these edges are those of rand_distr's `Exp1`. A number whose high 52 bits are
    /// zero makes `u = 2^-53`, and a power of two scales exactly: `Exp1` then returns
    /// `X[i]·2^-53` for box `i`, after one number if and only if that is below `X[i + 1]`.
    /// That pins every edge to the bit; numbers of every kind then check the rest.
    fn matches_rand_distr(&self) -> bool {
        let boxes = 0..BOXES as u64;
        let mixed = (0..4096u64).map(|k| {
            // SplitMix64's finaliser: numbers spread over all 64 bits.
            let mut z = k.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        });
        boxes.chain(mixed).all(|bits| {
            let mut probe = Probe::new(bits);
            let theirs: f64 = Exp1.sample(&mut probe);
            match self.common_case(bits) {
                Some(ours) => probe.drawn == 1 && ours.to_bits() == theirs.to_bits(),
                None => probe.drawn > 1,
            }
        })
    }
}

/// The wedges and the tail: rand_distr's sampler, from the stream as it was.
#[cold]
#[inline(never)]
fn rare_case(stream: &mut Stream) -> f64 {
    Exp1.sample(stream)
}

/// A generator that yields `first`, then numbers of its own, and counts what it yielded.
struct Probe {
    next: u64,
    drawn: u32,
}

impl Probe {
    fn new(first: u64) -> Probe {
        Probe {
            next: first,
            drawn: 0,
        }
    }
}

impl RngCore for Probe {
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    fn next_u64(&mut self) -> u64 {
        let bits = self.next;
        self.drawn += 1;
        // Later numbers (a wedge's or the tail's) only need to be valid draws.
        self.next = bits
            .wrapping_mul(0x5851_F42D_4C95_7F2D)
            .wrapping_add(0x1405_7B7E_F767_814F);
        bits
    }

    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for chunk in dst.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn the_edges_are_rand_distrs() {
        // On this platform at least: elsewhere the draws would still be right, only slower.
        assert!(edges().is_some());
        let x = &edges().unwrap().0;
        assert_eq!(x[1], R);
        assert_eq!(x[BOXES], 0.0);
        assert!(x.windows(2).all(|w| w[0] > w[1]));
    }

    #[test]
    fn draws_are_exp1s_bit_for_bit() {
        let edges = edges().expect("edges");
        let mut ours = Stream::seed_from_u64(11);
        let mut theirs = ours.clone();
        for _ in 0..1_000_000 {
            let a = edges.draw(&mut ours);
            let b: f64 = Exp1.sample(&mut theirs);
            assert_eq!(a.to_bits(), b.to_bits());
        }
        assert_eq!(ours, theirs);
    }

    #[test]
    fn wrong_edges_are_caught() {
        let mut edges = Edges::compute();
        assert!(edges.matches_rand_distr());
        edges.0[100] = f64::from_bits(edges.0[100].to_bits() + 1);
        assert!(!edges.matches_rand_distr());
    }
}
