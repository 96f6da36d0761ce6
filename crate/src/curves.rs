//! The paper's experiments on a labelled set of image embeddings, small enough to rerun on every
//! edit: the few-shot curve (a linear probe fitted on k images per label, over seeded random
//! draws, against zero-shot), the template-ensemble curve (accuracy as templates are added, in
//! order or by greedy forward selection as the CLIP notebook chose its 7), and distribution
//! shift (a probe fitted on one domain, tested on another).
//!
//! Draws use SplitMix64 and a partial Fisher–Yates shuffle per label, so the same seed gives the
//! same draws natively, in the browser and in tests/make_curve_reference.py.

use serde::Serialize;

use crate::error::{ClipError, Result};
use crate::probe;
use crate::zero_shot::l2_normalize;

/// The paper's few-shot axis.
pub const DEFAULT_SHOTS: [usize; 5] = [1, 2, 4, 8, 16];
pub const DEFAULT_DRAWS: usize = 10;
pub const DEFAULT_SEED: u64 = 0;

/// One random training set of a curve: the indices (into the labelled images) it trained on,
/// ascending, and the probe's accuracy on every other labelled image.
#[derive(Debug, Clone, Serialize)]
pub struct Draw {
    pub train: Vec<usize>,
    pub accuracy: f32,
}

#[derive(Debug, Clone, Serialize)]
pub struct ShotPoint {
    pub k: usize,
    pub mean: f32,
    pub min: f32,
    pub max: f32,
    pub draws: Vec<Draw>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ShotCurve {
    /// Zero-shot accuracy on every labelled image (it needs no training images).
    pub zero_shot_accuracy: f32,
    pub curve: Vec<ShotPoint>,
    /// The first k whose mean accuracy is above zero-shot's, if any.
    pub overtakes_at: Option<usize>,
    /// The asked-for k that the set could not supply (a label has too few images).
    pub skipped: Vec<usize>,
}

/// Settings of a probe experiment.
#[derive(Debug, Clone, Copy)]
pub struct Sampling {
    pub draws: usize,
    pub seed: u64,
    /// The probe's C (scikit-learn's inverse L2 strength).
    pub c: f64,
}

impl Default for Sampling {
    fn default() -> Self {
        Sampling { draws: DEFAULT_DRAWS, seed: DEFAULT_SEED, c: probe::DEFAULT_C }
    }
}

/// SplitMix64: tiny, and the same in every language.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// `k` of `indices`, by a partial Fisher–Yates shuffle (in place).
    fn choose(&mut self, indices: &mut [usize], k: usize) {
        for i in 0..k {
            let j = i + (self.next() % (indices.len() - i) as u64) as usize;
            indices.swap(i, j);
        }
    }
}

/// Indices of the examples of each class, in input order (classes with none left empty).
fn by_class(truth: &[usize], classes: usize) -> Vec<Vec<usize>> {
    let mut groups = vec![Vec::new(); classes];
    for (i, &c) in truth.iter().enumerate() {
        groups[c].push(i);
    }
    groups
}

/// `k` random images of every class present among `candidates`, ascending.
fn draw(rng: &mut Rng, groups: &[Vec<usize>], k: usize) -> Vec<usize> {
    let mut train = Vec::new();
    for group in groups.iter().filter(|g| !g.is_empty()) {
        let mut group = group.clone();
        rng.choose(&mut group, k);
        train.extend_from_slice(&group[..k]);
    }
    train.sort_unstable();
    train
}

fn check(embeddings: &[Vec<f32>], truth: &[usize], classes: usize) -> Result<()> {
    if embeddings.len() != truth.len() {
        return Err(ClipError::Input("every labelled image needs one label".into()));
    }
    if truth.iter().any(|&c| c >= classes) {
        return Err(ClipError::Input("a labelled image names an unknown label".into()));
    }
    Ok(())
}

/// Fit on `train`, the fraction right among `test` (None when `test` is empty).
fn probe_accuracy(embeddings: &[Vec<f32>], truth: &[usize], classes: usize, train: &[usize], test: &[usize], c: f64) -> Result<Option<f32>> {
    let examples: Vec<(usize, Vec<f32>)> = train.iter().map(|&i| (truth[i], embeddings[i].clone())).collect();
    let fitted = probe::fit(&examples, classes, c)?;
    let pairs: Vec<(usize, Vec<f32>)> = test.iter().map(|&i| (truth[i], fitted.predict(&embeddings[i]))).collect();
    Ok(probe::accuracy(&pairs))
}

/// The few-shot curve: for each k of `shots` that every label can supply with one image left
/// over to test on, `sampling.draws` random draws of k images per label, each fitted and tested
/// on the labelled images it did not train on. `zero_shot_right[i]`: zero-shot's answer for
/// image i is its true label.
pub fn shot_curve(
    embeddings: &[Vec<f32>],
    truth: &[usize],
    classes: usize,
    zero_shot_right: &[bool],
    shots: &[usize],
    sampling: Sampling,
) -> Result<ShotCurve> {
    check(embeddings, truth, classes)?;
    let groups = by_class(truth, classes);
    let present: Vec<&Vec<usize>> = groups.iter().filter(|g| !g.is_empty()).collect();
    let fewest = present.iter().map(|g| g.len()).min().unwrap_or(0);
    if present.len() < 2 || fewest < 2 {
        return Err(ClipError::Input(
            "the k-shot curve needs labelled images of at least two labels, two or more of each (one to train on, one to test)".into(),
        ));
    }
    if sampling.draws == 0 || sampling.draws > 1000 {
        return Err(ClipError::Input("the number of draws must be between 1 and 1000".into()));
    }
    let mut rng = Rng(sampling.seed);
    let (mut curve, mut skipped) = (Vec::new(), Vec::new());
    for &k in shots {
        if k == 0 || k >= fewest {
            skipped.push(k);
            continue;
        }
        let mut draws = Vec::with_capacity(sampling.draws);
        for _ in 0..sampling.draws {
            let train = draw(&mut rng, &groups, k);
            let test: Vec<usize> = (0..truth.len()).filter(|i| train.binary_search(i).is_err()).collect();
            let accuracy = probe_accuracy(embeddings, truth, classes, &train, &test, sampling.c)?.unwrap_or(0.0);
            draws.push(Draw { train, accuracy });
        }
        let accuracies: Vec<f32> = draws.iter().map(|d| d.accuracy).collect();
        curve.push(ShotPoint {
            k,
            mean: accuracies.iter().sum::<f32>() / accuracies.len() as f32,
            min: accuracies.iter().copied().fold(f32::INFINITY, f32::min),
            max: accuracies.iter().copied().fold(f32::NEG_INFINITY, f32::max),
            draws,
        });
    }
    if curve.is_empty() {
        return Err(ClipError::Input(format!(
            "no k of the curve fits: the label with the fewest labelled images has {fewest}, so k must be below that"
        )));
    }
    let zero_shot_accuracy = fraction(zero_shot_right.iter().copied());
    let overtakes_at = curve.iter().find(|p| p.mean > zero_shot_accuracy).map(|p| p.k);
    Ok(ShotCurve { zero_shot_accuracy, curve, overtakes_at, skipped })
}

fn fraction(right: impl Iterator<Item = bool>) -> f32 {
    let (mut hits, mut n) = (0usize, 0usize);
    for r in right {
        hits += r as usize;
        n += 1;
    }
    if n == 0 { 0.0 } else { hits as f32 / n as f32 }
}

/// One step of the template curve: the templates ensembled so far (indices into the list, in
/// the order they were added) and the zero-shot accuracy with them.
#[derive(Debug, Clone, Serialize)]
pub struct TemplateStep {
    pub templates: Vec<usize>,
    pub accuracy: f32,
    /// Mean probability of the true label at the scale given: what breaks accuracy ties.
    pub mean_true_prob: f32,
}

/// Accuracy as templates are added one at a time: in the listed order, or (`greedy`) at each
/// step the template whose addition gives the highest accuracy (ties: the higher mean true-label
/// probability, then the earlier template). `rows[class][template]`: the class's per-template
/// vector ([`crate::zero_shot::per_template_rows`]); a set of templates ensembles as the page and
/// `clip classify` do (mean of the rows, renormalised).
pub fn template_curve(
    images: &[Vec<f32>],
    truth: &[usize],
    rows: &[Vec<Vec<f32>>],
    greedy: bool,
    scale: f32,
) -> Result<Vec<TemplateStep>> {
    let classes = rows.len();
    check(images, truth, classes)?;
    let templates = rows.first().map_or(0, Vec::len);
    if images.is_empty() || classes < 2 || templates == 0 {
        return Err(ClipError::Input("the template curve needs labelled images, two labels and a template".into()));
    }
    let images: Vec<Vec<f32>> = images.iter().map(|e| l2_normalize(e)).collect();
    let dim = images[0].len();
    let mut sums = vec![vec![0f32; dim]; classes];
    let mut chosen: Vec<usize> = Vec::new();
    let mut steps = Vec::with_capacity(templates);
    while chosen.len() < templates {
        let candidates: Vec<usize> = if greedy {
            (0..templates).filter(|t| !chosen.contains(t)).collect()
        } else {
            vec![chosen.len()]
        };
        let mut best: Option<(usize, (f32, f32))> = None;
        for &t in &candidates {
            let trial: Vec<Vec<f32>> = sums
                .iter()
                .zip(rows)
                .map(|(sum, class)| l2_normalize(&sum.iter().zip(&class[t]).map(|(a, b)| a + b).collect::<Vec<_>>()))
                .collect();
            let score = evaluate(&images, truth, &trial, scale);
            if best.is_none_or(|(_, b)| score.0 > b.0 || score.0 == b.0 && score.1 > b.1) {
                best = Some((t, score));
            }
        }
        let (t, (accuracy, mean_true_prob)) = best.expect("a candidate is left");
        for (sum, class) in sums.iter_mut().zip(rows) {
            for (s, x) in sum.iter_mut().zip(&class[t]) {
                *s += x;
            }
        }
        chosen.push(t);
        steps.push(TemplateStep { templates: chosen.clone(), accuracy, mean_true_prob });
    }
    Ok(steps)
}

/// (accuracy, mean true-label probability) of unit image embeddings against unit class vectors.
fn evaluate(images: &[Vec<f32>], truth: &[usize], classes: &[Vec<f32>], scale: f32) -> (f32, f32) {
    let mut right = 0usize;
    let mut true_prob = 0f64;
    for (image, &y) in images.iter().zip(truth) {
        let logits: Vec<f32> = classes.iter().map(|c| scale * image.iter().zip(c).map(|(a, b)| a * b).sum::<f32>()).collect();
        let best = logits.iter().enumerate().fold(0, |b, (i, l)| if *l > logits[b] { i } else { b });
        right += (best == y) as usize;
        true_prob += crate::zero_shot::softmax(&logits)[y] as f64;
    }
    (right as f32 / images.len() as f32, (true_prob / images.len() as f64) as f32)
}

/// Distribution shift: zero-shot and a probe fitted on one domain's images, compared on every
/// domain, as the paper's robustness figure does.
#[derive(Debug, Clone, Serialize)]
pub struct Shift {
    pub train_domain: String,
    /// Images per label the probe trains on (drawn from the training domain).
    pub k: usize,
    pub draws: usize,
    pub domains: Vec<DomainRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DomainRow {
    pub domain: String,
    pub images: usize,
    pub zero_shot: f32,
    /// Mean over the draws, on this domain's images the probe did not train on (None: none left).
    pub probe: Option<f32>,
    pub probe_min: Option<f32>,
    pub probe_max: Option<f32>,
}

/// Fit the probe on `k` images per label of `train_domain` (every label there must have k;
/// `k = None`: as many as leave one per label to test on, at least one), `sampling.draws` times,
/// and report each domain's zero-shot and probe accuracy.
pub fn domain_shift(
    embeddings: &[Vec<f32>],
    truth: &[usize],
    classes: usize,
    domains: &[String],
    zero_shot_right: &[bool],
    train_domain: &str,
    k: Option<usize>,
    sampling: Sampling,
) -> Result<Shift> {
    check(embeddings, truth, classes)?;
    if domains.len() != truth.len() || zero_shot_right.len() != truth.len() {
        return Err(ClipError::Input("every labelled image needs one domain and one zero-shot answer".into()));
    }
    let in_train: Vec<usize> = (0..truth.len()).filter(|&i| domains[i] == train_domain).collect();
    let mut groups = vec![Vec::new(); classes];
    for &i in &in_train {
        groups[truth[i]].push(i);
    }
    let present: Vec<usize> = groups.iter().filter(|g| !g.is_empty()).map(Vec::len).collect();
    if present.len() < 2 {
        return Err(ClipError::Input(format!(
            "the {train_domain} images need at least two different labels to train the probe on"
        )));
    }
    let fewest = *present.iter().min().unwrap_or(&1);
    let k = k.unwrap_or((fewest - 1).max(1));
    if k == 0 || k > fewest {
        return Err(ClipError::Input(format!(
            "every label among the {train_domain} images needs {k} images to train on; the fewest has {fewest}"
        )));
    }
    if sampling.draws == 0 || sampling.draws > 1000 {
        return Err(ClipError::Input("the number of draws must be between 1 and 1000".into()));
    }
    let mut names: Vec<String> = vec![train_domain.to_string()];
    for d in domains {
        if !names.contains(d) {
            names.push(d.clone());
        }
    }
    let mut rng = Rng(sampling.seed);
    let mut per_domain: Vec<Vec<f32>> = vec![Vec::new(); names.len()];
    for _ in 0..sampling.draws {
        let train = draw(&mut rng, &groups, k);
        let examples: Vec<(usize, Vec<f32>)> = train.iter().map(|&i| (truth[i], embeddings[i].clone())).collect();
        let fitted = probe::fit(&examples, classes, sampling.c)?;
        for (slot, name) in names.iter().enumerate() {
            let pairs: Vec<(usize, Vec<f32>)> = (0..truth.len())
                .filter(|&i| &domains[i] == name && train.binary_search(&i).is_err())
                .map(|i| (truth[i], fitted.predict(&embeddings[i])))
                .collect();
            if let Some(accuracy) = probe::accuracy(&pairs) {
                per_domain[slot].push(accuracy);
            }
        }
    }
    let rows = names
        .iter()
        .zip(per_domain)
        .map(|(name, accuracies)| {
            let mine: Vec<usize> = (0..truth.len()).filter(|&i| &domains[i] == name).collect();
            let some = !accuracies.is_empty();
            DomainRow {
                domain: name.clone(),
                images: mine.len(),
                zero_shot: fraction(mine.iter().map(|&i| zero_shot_right[i])),
                probe: some.then(|| accuracies.iter().sum::<f32>() / accuracies.len() as f32),
                probe_min: some.then(|| accuracies.iter().copied().fold(f32::INFINITY, f32::min)),
                probe_max: some.then(|| accuracies.iter().copied().fold(f32::NEG_INFINITY, f32::max)),
            }
        })
        .collect();
    Ok(Shift { train_domain: train_domain.to_string(), k, draws: sampling.draws, domains: rows })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three well separated clusters in 4 dimensions, `per` images each.
    fn clusters(per: usize) -> (Vec<Vec<f32>>, Vec<usize>) {
        let mut rng = Rng(42);
        let mut noise = || (rng.next() % 1000) as f32 / 1000.0 * 0.2 - 0.1;
        let (mut xs, mut ys) = (vec![], vec![]);
        for class in 0..3 {
            for _ in 0..per {
                let mut x: Vec<f32> = (0..4).map(|_| noise()).collect();
                x[class] += 1.0;
                xs.push(x);
                ys.push(class);
            }
        }
        (xs, ys)
    }

    #[test]
    fn splitmix_matches_its_published_first_outputs() {
        // The reference sequence for seed 1234567 (Vigna's splitmix64.c).
        let mut rng = Rng(1234567);
        assert_eq!(rng.next(), 6457827717110365317);
        assert_eq!(rng.next(), 3203168211198807973);
    }

    #[test]
    fn the_shot_curve_draws_k_per_label_and_tests_on_the_rest() {
        let (xs, ys) = clusters(5);
        let right = vec![true; ys.len()];
        let curve = shot_curve(&xs, &ys, 3, &right, &DEFAULT_SHOTS, Sampling { draws: 3, ..Default::default() }).unwrap();
        assert_eq!(curve.curve.iter().map(|p| p.k).collect::<Vec<_>>(), [1, 2, 4]);
        assert_eq!(curve.skipped, [8, 16]);
        for point in &curve.curve {
            for d in &point.draws {
                assert_eq!(d.train.len(), 3 * point.k);
                for class in 0..3 {
                    assert_eq!(d.train.iter().filter(|&&i| ys[i] == class).count(), point.k);
                }
            }
            assert!(point.min <= point.mean && point.mean <= point.max);
        }
        assert_eq!(curve.zero_shot_accuracy, 1.0);
        assert_eq!(curve.overtakes_at, None, "nothing beats 100 %");
        let again = shot_curve(&xs, &ys, 3, &right, &DEFAULT_SHOTS, Sampling { draws: 3, ..Default::default() }).unwrap();
        assert_eq!(again.curve[1].draws[2].train, curve.curve[1].draws[2].train, "seeded");
        assert!(shot_curve(&xs[..4], &ys[..4], 3, &right[..4], &[1], Sampling::default()).is_err(), "one image of label 1");
    }

    #[test]
    fn greedy_selection_never_does_worse_than_the_listed_order_at_its_first_step() {
        let (xs, ys) = clusters(3);
        // Template 0 points every class the wrong way; template 1 the right way.
        let rows: Vec<Vec<Vec<f32>>> = (0..3)
            .map(|c| {
                let mut right = vec![0.0; 4];
                right[c] = 1.0;
                let mut wrong = vec![0.0; 4];
                wrong[(c + 1) % 3] = 1.0;
                vec![wrong, right]
            })
            .collect();
        let listed = template_curve(&xs, &ys, &rows, false, 100.0).unwrap();
        assert_eq!(listed[0].templates, [0]);
        assert_eq!(listed[0].accuracy, 0.0);
        let greedy = template_curve(&xs, &ys, &rows, true, 100.0).unwrap();
        assert_eq!(greedy[0].templates, [1]);
        assert_eq!(greedy[0].accuracy, 1.0);
        assert_eq!(greedy.len(), 2);
    }

    #[test]
    fn a_probe_trained_on_one_domain_is_tested_on_every_domain() {
        let (xs, ys) = clusters(4);
        let domains: Vec<String> = (0..ys.len()).map(|i| if i % 4 == 3 { "photo" } else { "drawing" }.to_string()).collect();
        let right: Vec<bool> = (0..ys.len()).map(|i| i % 2 == 0).collect();
        let shift = domain_shift(&xs, &ys, 3, &domains, &right, "drawing", None, Sampling { draws: 2, ..Default::default() }).unwrap();
        assert_eq!(shift.k, 2);
        assert_eq!(shift.domains[0].domain, "drawing");
        assert_eq!(shift.domains[0].images, 9);
        assert_eq!(shift.domains[1].images, 3);
        assert_eq!(shift.domains[1].probe, Some(1.0));
        assert!(domain_shift(&xs, &ys, 3, &domains, &right, "photo", Some(2), Sampling::default()).is_err());
    }
}
