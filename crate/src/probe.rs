//! Few-shot linear probe: multinomial logistic regression on L2-normalised image embeddings,
//! the paper's baseline for "zero-shot rivals a few-shot probe on the same features".
//!
//! The objective is scikit-learn's `LogisticRegression(C=C)` (lbfgs): minimise
//! `C · Σ cross-entropy + ½‖W‖²` with the intercept fitted and not penalised. With two classes
//! scikit-learn fits one weight vector (the binomial loss), not two softmax rows; that changes the
//! penalty, so two classes are fitted the same way here (class 0's logit held at 0).
//! Solved in f64 by L-BFGS to a tight gradient tolerance, not a fixed iteration count.

use crate::error::{ClipError, Result};
use crate::zero_shot::l2_normalize;

/// scikit-learn's default strength.
pub const DEFAULT_C: f64 = 1.0;

/// A fitted probe: one weight row and intercept per class (for two classes, row 0 is zeros).
#[derive(Debug, Clone)]
pub struct Probe {
    weights: Vec<Vec<f64>>,
    intercepts: Vec<f64>,
    /// L-BFGS iterations the fit took (reported by the page and the CLI's tests).
    pub iterations: usize,
}

impl Probe {
    pub fn classes(&self) -> usize {
        self.intercepts.len()
    }

    /// Class probabilities of one image embedding (normalised here, as in training).
    pub fn predict(&self, embedding: &[f32]) -> Vec<f32> {
        let x: Vec<f64> = l2_normalize(embedding).iter().map(|&v| v as f64).collect();
        let logits: Vec<f64> =
            self.weights.iter().zip(&self.intercepts).map(|(w, b)| dot(w, &x) + b).collect();
        softmax64(&logits).into_iter().map(|p| p as f32).collect()
    }
}

/// Fit a probe on `(class index, embedding)` examples over `classes` classes with strength `c`.
pub fn fit(examples: &[(usize, Vec<f32>)], classes: usize, c: f64) -> Result<Probe> {
    if !(c.is_finite() && c > 0.0) {
        return Err(ClipError::Input(format!("the probe's C must be a positive number, not {c}")));
    }
    let mut seen = vec![false; classes];
    for (class, embedding) in examples {
        let slot = seen.get_mut(*class).ok_or_else(|| ClipError::Input("a training example names an unknown label".into()))?;
        *slot = true;
        if embedding.is_empty() || embedding.len() != examples[0].1.len() {
            return Err(ClipError::Input("training embeddings must all have the same length".into()));
        }
    }
    if seen.iter().filter(|&&s| s).count() < 2 {
        return Err(ClipError::Input("the probe needs training images of at least two different labels".into()));
    }
    let dim = examples[0].1.len();
    let xs: Vec<Vec<f64>> = examples.iter().map(|(_, e)| l2_normalize(e).iter().map(|&v| v as f64).collect()).collect();
    let ys: Vec<usize> = examples.iter().map(|(y, _)| *y).collect();
    let problem = Problem { xs: &xs, ys: &ys, classes, dim, c };

    let (params, iterations) = lbfgs(&problem, vec![0.0; problem.free_classes() * (dim + 1)]);

    let mut weights = vec![vec![0.0; dim]; classes];
    let mut intercepts = vec![0.0; classes];
    for (slot, class) in (problem.first_free()..classes).enumerate() {
        let row = &params[slot * (dim + 1)..(slot + 1) * (dim + 1)];
        weights[class].copy_from_slice(&row[..dim]);
        intercepts[class] = row[dim];
    }
    Ok(Probe { weights, intercepts, iterations })
}

/// Fraction of `(class, predicted probabilities)` pairs whose most probable class is right.
pub fn accuracy(pairs: &[(usize, Vec<f32>)]) -> Option<f32> {
    if pairs.is_empty() {
        return None;
    }
    let right = pairs
        .iter()
        .filter(|(class, probs)| {
            probs.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map(|(i, _)| i) == Some(*class)
        })
        .count();
    Some(right as f32 / pairs.len() as f32)
}

struct Problem<'a> {
    xs: &'a [Vec<f64>],
    ys: &'a [usize],
    classes: usize,
    dim: usize,
    c: f64,
}

impl Problem<'_> {
    /// Two classes: binomial, so only class 1 has parameters.
    fn first_free(&self) -> usize {
        if self.classes == 2 { 1 } else { 0 }
    }

    fn free_classes(&self) -> usize {
        self.classes - self.first_free()
    }

    /// Objective and its gradient at `params` (rows of `dim` weights then the intercept).
    fn evaluate(&self, params: &[f64], grad: &mut [f64]) -> f64 {
        let row = self.dim + 1;
        let first = self.first_free();
        grad.fill(0.0);
        let mut loss = 0.0;
        let mut logits = vec![0.0; self.classes];
        for (x, &y) in self.xs.iter().zip(self.ys) {
            for class in 0..self.classes {
                logits[class] = if class < first {
                    0.0
                } else {
                    let p = &params[(class - first) * row..(class - first + 1) * row];
                    dot(&p[..self.dim], x) + p[self.dim]
                };
            }
            let max = logits.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let sum: f64 = logits.iter().map(|l| (l - max).exp()).sum();
            loss += max + sum.ln() - logits[y];
            for class in first..self.classes {
                let residual = (logits[class] - max).exp() / sum - if class == y { 1.0 } else { 0.0 };
                let g = &mut grad[(class - first) * row..(class - first + 1) * row];
                for (gi, xi) in g[..self.dim].iter_mut().zip(x) {
                    *gi += self.c * residual * xi;
                }
                g[self.dim] += self.c * residual;
            }
        }
        let mut penalty = 0.0;
        for slot in 0..self.free_classes() {
            let w = &params[slot * row..slot * row + self.dim];
            penalty += dot(w, w);
            for (gi, wi) in grad[slot * row..slot * row + self.dim].iter_mut().zip(w) {
                *gi += wi;
            }
        }
        self.c * loss + 0.5 * penalty
    }
}

/// Limited-memory BFGS with a backtracking (Armijo) line search. The objective is smooth and
/// strictly convex in the weights, so this converges to the unique optimum.
fn lbfgs(problem: &Problem, mut x: Vec<f64>) -> (Vec<f64>, usize) {
    const MEMORY: usize = 10;
    const MAX_ITERATIONS: usize = 5000;
    let n = x.len();
    let mut grad = vec![0.0; n];
    let mut f = problem.evaluate(&x, &mut grad);
    // Converged when the largest gradient entry is tiny next to the loss's own scale.
    let tolerance = 1e-9 * (1.0 + problem.c * problem.xs.len() as f64);
    let mut history: Vec<(Vec<f64>, Vec<f64>, f64)> = Vec::with_capacity(MEMORY);
    let mut next_grad = vec![0.0; n];
    for iteration in 0..MAX_ITERATIONS {
        if max_abs(&grad) <= tolerance {
            return (x, iteration);
        }
        // Two-loop recursion: direction = -H·g.
        let mut q = grad.clone();
        let mut alphas = Vec::with_capacity(history.len());
        for (s, y, rho) in history.iter().rev() {
            let alpha = rho * dot(s, &q);
            axpy(-alpha, y, &mut q);
            alphas.push(alpha);
        }
        let gamma = match history.last() {
            Some((s, y, _)) => dot(s, y) / dot(y, y),
            None => 1.0 / max_abs(&grad).max(1e-12),
        };
        q.iter_mut().for_each(|v| *v *= gamma);
        for ((s, y, rho), alpha) in history.iter().zip(alphas.iter().rev()) {
            let beta = rho * dot(y, &q);
            axpy(alpha - beta, s, &mut q);
        }
        let mut direction: Vec<f64> = q.iter().map(|v| -v).collect();
        let mut slope = dot(&grad, &direction);
        if slope >= 0.0 {
            // Not a descent direction (numerical trouble): restart from steepest descent.
            history.clear();
            direction = grad.iter().map(|g| -g / max_abs(&grad).max(1e-12)).collect();
            slope = dot(&grad, &direction);
        }
        let mut step = 1.0;
        let mut candidate = x.clone();
        let mut next_f;
        loop {
            for ((c, xi), d) in candidate.iter_mut().zip(&x).zip(&direction) {
                *c = xi + step * d;
            }
            next_f = problem.evaluate(&candidate, &mut next_grad);
            if next_f <= f + 1e-4 * step * slope || step < 1e-20 {
                break;
            }
            step *= 0.5;
        }
        if next_f > f {
            return (x, iteration); // no progress possible at f64 precision
        }
        let s: Vec<f64> = candidate.iter().zip(&x).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = next_grad.iter().zip(&grad).map(|(a, b)| a - b).collect();
        let sy = dot(&s, &y);
        if sy > 1e-12 * dot(&y, &y).sqrt() * dot(&s, &s).sqrt() {
            if history.len() == MEMORY {
                history.remove(0);
            }
            history.push((s, y, 1.0 / sy));
        }
        x = candidate;
        f = next_f;
        std::mem::swap(&mut grad, &mut next_grad);
    }
    (x, MAX_ITERATIONS)
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn axpy(a: f64, x: &[f64], y: &mut [f64]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

fn max_abs(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

fn softmax64(logits: &[f64]) -> Vec<f64> {
    let max = logits.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let exps: Vec<f64> = logits.iter().map(|l| (l - max).exp()).collect();
    let sum: f64 = exps.iter().sum();
    exps.into_iter().map(|e| e / sum).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> Vec<(usize, Vec<f32>)> {
        vec![
            (0, vec![1.0, 0.1, 0.0]),
            (0, vec![0.9, -0.2, 0.1]),
            (1, vec![0.0, 1.0, 0.2]),
            (1, vec![0.1, 0.8, -0.1]),
            (2, vec![0.0, 0.1, 1.0]),
            (2, vec![-0.2, 0.0, 0.9]),
        ]
    }

    #[test]
    fn the_gradient_is_zero_at_the_fit() {
        for classes in [2, 3] {
            let examples: Vec<_> = toy().into_iter().filter(|(y, _)| *y < classes).collect();
            let probe = fit(&examples, classes, 10.0).unwrap();
            // Recompute the gradient numerically from the objective at the returned parameters.
            let xs: Vec<Vec<f64>> =
                examples.iter().map(|(_, e)| l2_normalize(e).iter().map(|&v| v as f64).collect()).collect();
            let ys: Vec<usize> = examples.iter().map(|e| e.0).collect();
            let problem = Problem { xs: &xs, ys: &ys, classes, dim: 3, c: 10.0 };
            let mut params = vec![];
            for class in problem.first_free()..classes {
                params.extend(&probe.weights[class]);
                params.push(probe.intercepts[class]);
            }
            let mut grad = vec![0.0; params.len()];
            problem.evaluate(&params, &mut grad);
            assert!(max_abs(&grad) < 1e-6, "{classes} classes: gradient {grad:?}");
        }
    }

    #[test]
    fn separates_what_is_separable_and_sums_to_one() {
        let probe = fit(&toy(), 3, 100.0).unwrap();
        for (y, e) in toy() {
            let p = probe.predict(&e);
            assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-5);
            assert!(p[y] > 0.8, "{p:?}");
        }
        let pairs: Vec<_> = toy().into_iter().map(|(y, e)| (y, probe.predict(&e))).collect();
        assert_eq!(accuracy(&pairs), Some(1.0));
    }

    #[test]
    fn refuses_what_cannot_be_fitted() {
        let one_label: Vec<_> = toy().into_iter().filter(|(y, _)| *y == 0).collect();
        assert!(fit(&one_label, 3, 1.0).unwrap_err().to_string().contains("two different labels"));
        assert!(fit(&toy(), 3, 0.0).is_err());
        assert!(fit(&toy(), 3, f64::NAN).is_err());
        assert!(fit(&toy(), 2, 1.0).is_err(), "label 2 out of range");
    }
}
