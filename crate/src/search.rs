//! Text → image and image → image search: the other direction of the same shared space. A query
//! embedding ranks candidate embeddings by cosine similarity, highest first.

use crate::zero_shot::cosine;

/// `(index, cosine)` of every candidate, highest cosine first (ties keep their order).
pub fn rank(query: &[f32], candidates: &[Vec<f32>]) -> Vec<(usize, f32)> {
    let mut ranked: Vec<(usize, f32)> = candidates.iter().enumerate().map(|(i, c)| (i, cosine(query, c))).collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    ranked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_by_cosine_highest_first() {
        let candidates = vec![vec![0.0, 1.0], vec![1.0, 0.1], vec![-1.0, 0.0], vec![2.0, 0.2]];
        let ranked = rank(&[1.0, 0.0], &candidates);
        assert_eq!(ranked.iter().map(|r| r.0).collect::<Vec<_>>(), [1, 3, 0, 2]);
        assert!((ranked[0].1 - ranked[1].1).abs() < 1e-6, "scale does not matter");
        assert!((ranked[3].1 + 1.0).abs() < 1e-6);
    }
}
