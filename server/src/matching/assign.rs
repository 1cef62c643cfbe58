//! The optimal assignment for a cohort round: each request gets at most one mentor, each
//! mentor at most their free places, and the total score of the pairs is as large as
//! possible. Mentors are expanded into one column per free place and the Hungarian
//! algorithm (shortest augmenting paths with potentials, O(n^2 m) for n requests and m
//! places) solves the rectangular assignment; ineligible pairs cost nothing, so a request
//! with no eligible mentor simply stays unmatched.

/// A score matrix: `scores[i][j]` is request i with offer j, `None` if ineligible.
pub type Scores = Vec<Vec<Option<f64>>>;

/// Returns, for each request, the offer it is assigned to (or `None`).
pub fn assign(scores: &Scores, places: &[u32]) -> Vec<Option<usize>> {
    let n = scores.len();
    // One column per free place; `owner[c]` is the offer behind column c.
    let owner: Vec<usize> = places
        .iter()
        .enumerate()
        .flat_map(|(j, &p)| std::iter::repeat_n(j, p as usize))
        .collect();
    if n == 0 || owner.is_empty() {
        return vec![None; n];
    }
    // The Hungarian method needs at least as many columns as rows: pad with columns that
    // mean "unassigned" (cost 0).
    let m = owner.len().max(n);
    // Costs in integer hundredths, negated: minimising cost maximises the score.
    let cost = |i: usize, c: usize| -> i64 {
        match owner.get(c).and_then(|&j| scores[i][j]) {
            Some(s) => -((s * 100.0).round() as i64),
            None => 0,
        }
    };
    const INF: i64 = i64::MAX / 4;
    // 1-based arrays as in the classic formulation: row 0 and column 0 are sentinels.
    let mut u = vec![0i64; n + 1];
    let mut v = vec![0i64; m + 1];
    let mut p = vec![0usize; m + 1]; // p[c]: the row assigned to column c
    let mut way = vec![0usize; m + 1];
    for i in 1..=n {
        p[0] = i;
        let mut c0 = 0usize;
        let mut minv = vec![INF; m + 1];
        let mut used = vec![false; m + 1];
        loop {
            used[c0] = true;
            let i0 = p[c0];
            let mut delta = INF;
            let mut c1 = 0usize;
            for c in 1..=m {
                if used[c] {
                    continue;
                }
                let cur = cost(i0 - 1, c - 1) - u[i0] - v[c];
                if cur < minv[c] {
                    minv[c] = cur;
                    way[c] = c0;
                }
                if minv[c] < delta {
                    delta = minv[c];
                    c1 = c;
                }
            }
            for c in 0..=m {
                if used[c] {
                    u[p[c]] += delta;
                    v[c] -= delta;
                } else {
                    minv[c] -= delta;
                }
            }
            c0 = c1;
            if p[c0] == 0 {
                break;
            }
        }
        loop {
            let c1 = way[c0];
            p[c0] = p[c1];
            c0 = c1;
            if c0 == 0 {
                break;
            }
        }
    }
    let mut result = vec![None; n];
    for (c, &row) in p.iter().enumerate().skip(1) {
        if row == 0 {
            continue;
        }
        if let Some(&j) = owner.get(c - 1)
            && scores[row - 1][j].is_some()
        {
            result[row - 1] = Some(j);
        }
    }
    result
}

/// The total score of an assignment.
pub fn total(scores: &Scores, assignment: &[Option<usize>]) -> f64 {
    assignment
        .iter()
        .enumerate()
        .filter_map(|(i, j)| j.and_then(|j| scores[i][j]))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Tries every way to assign requests to offers within capacities.
    fn brute_force(scores: &Scores, places: &[u32]) -> f64 {
        fn go(i: usize, scores: &Scores, left: &mut Vec<u32>) -> f64 {
            if i == scores.len() {
                return 0.0;
            }
            let mut best = go(i + 1, scores, left);
            for j in 0..left.len() {
                if let Some(s) = scores[i][j]
                    && left[j] > 0
                {
                    left[j] -= 1;
                    best = best.max(s + go(i + 1, scores, left));
                    left[j] += 1;
                }
            }
            best
        }
        go(0, scores, &mut places.to_vec())
    }

    fn respects_capacity(assignment: &[Option<usize>], places: &[u32]) -> bool {
        let mut used = vec![0u32; places.len()];
        for j in assignment.iter().flatten() {
            used[*j] += 1;
        }
        used.iter().zip(places).all(|(u, p)| u <= p)
    }

    #[test]
    fn prefers_the_best_total_over_the_greedy_choice() {
        // Greedy would give request 0 the mentor both want; the optimum does not.
        let scores = vec![vec![Some(10.0), Some(9.0)], vec![Some(8.0), None]];
        let a = assign(&scores, &[1, 1]);
        assert_eq!(a, vec![Some(1), Some(0)]);
        assert_eq!(total(&scores, &a), 17.0);
    }

    #[test]
    fn more_requests_than_places_leaves_some_unmatched() {
        let scores = vec![vec![Some(1.0)], vec![Some(5.0)], vec![Some(3.0)]];
        let a = assign(&scores, &[2]);
        assert_eq!(a, vec![None, Some(0), Some(0)]);
    }

    proptest! {
        #[test]
        fn matches_a_brute_force_optimum_and_respects_capacities(
            (n, m) in (1usize..6, 1usize..4),
            raw in proptest::collection::vec(proptest::option::weighted(0.7, 0u32..100), 24),
            caps in proptest::collection::vec(0u32..4, 4),
        ) {
            let scores: Scores = (0..n)
                .map(|i| (0..m).map(|j| raw[i * 4 + j].map(f64::from)).collect())
                .collect();
            let places = &caps[..m];
            let a = assign(&scores, places);
            prop_assert!(respects_capacity(&a, places));
            for (i, j) in a.iter().enumerate() {
                if let Some(j) = j {
                    prop_assert!(scores[i][*j].is_some(), "only eligible pairs");
                }
            }
            let best = brute_force(&scores, places);
            prop_assert!((total(&scores, &a) - best).abs() < 1e-6, "{} vs {}", total(&scores, &a), best);
        }
    }
}
