//! Timing: latencies of repeated operations, taken in turns so that two compared
//! operations see the same disk, caches and background load.
use anyhow::Result;
use std::time::{Duration, Instant};

pub(super) fn timed(f: impl FnOnce() -> Result<()>) -> Result<Duration> {
    timed_value(f).map(|((), elapsed)| elapsed)
}

pub(super) fn timed_value<T>(f: impl FnOnce() -> Result<T>) -> Result<(T, Duration)> {
    let start = Instant::now();
    let value = f()?;
    Ok((value, start.elapsed()))
}

/// Times `rounds` rounds of two operations (turn 0 and turn 1, given the round), taking
/// turns at going first so that neither gains from running second; the latencies of each.
pub(super) fn take_turns(
    rounds: u64,
    mut operation: impl FnMut(u8, u64) -> Result<()>,
) -> Result<[Latencies; 2]> {
    let mut latencies = [Vec::new(), Vec::new()];
    for round in 0..rounds {
        let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for turn in order {
            latencies[usize::from(turn)].push(timed(|| operation(turn, round))?);
        }
    }
    Ok(latencies.map(Latencies::new))
}

/// Latencies, sorted.
pub(super) struct Latencies(Vec<Duration>);

impl Latencies {
    pub(super) fn new(mut latencies: Vec<Duration>) -> Self {
        latencies.sort_unstable();
        Self(latencies)
    }

    pub(super) fn repeat(runs: usize, mut operation: impl FnMut() -> Result<()>) -> Result<Self> {
        let latencies = (0..runs)
            .map(|_| timed(&mut operation))
            .collect::<Result<_>>()?;
        Ok(Self::new(latencies))
    }

    pub(super) fn len(&self) -> usize {
        self.0.len()
    }

    /// Operations per second, one after the other.
    pub(super) fn per_second(&self) -> f64 {
        self.0.len() as f64 / self.0.iter().sum::<Duration>().as_secs_f64()
    }

    pub(super) fn best(&self) -> Duration {
        self.percentile(0.0)
    }

    pub(super) fn median(&self) -> Duration {
        self.percentile(50.0)
    }

    pub(super) fn percentile(&self, pct: f64) -> Duration {
        percentile(&self.0, pct)
    }
}

/// The nearest-rank percentile (`pct` in 0..=100) of sorted, non-empty samples.
fn percentile(sorted: &[Duration], pct: f64) -> Duration {
    assert!(!sorted.is_empty(), "a percentile needs at least one sample");
    let rank = (pct / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn millis(values: impl IntoIterator<Item = u64>) -> Vec<Duration> {
        values.into_iter().map(Duration::from_millis).collect()
    }

    #[test]
    fn percentile_takes_the_nearest_rank() {
        let samples = millis(1..=100);
        assert_eq!(percentile(&samples, 0.0), Duration::from_millis(1));
        assert_eq!(percentile(&samples, 50.0), Duration::from_millis(50));
        assert_eq!(percentile(&samples, 99.0), Duration::from_millis(99));
        assert_eq!(percentile(&samples, 100.0), Duration::from_millis(100));
    }

    #[test]
    fn percentile_of_few_samples_is_one_of_them() {
        assert_eq!(percentile(&millis([7]), 99.0), Duration::from_millis(7));
        let three = millis([1, 2, 3]);
        assert_eq!(percentile(&three, 50.0), Duration::from_millis(2));
        assert_eq!(percentile(&three, 99.0), Duration::from_millis(3));
    }

    #[test]
    fn latencies_sort_their_samples() {
        let latencies = Latencies::new(millis([30, 10, 20]));
        assert_eq!(latencies.best(), Duration::from_millis(10));
        assert_eq!(latencies.median(), Duration::from_millis(20));
    }
}
