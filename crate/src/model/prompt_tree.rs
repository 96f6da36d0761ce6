//! A batch of prompts as one tree of tokens, so that words the prompts begin with alike are
//! computed once.
//!
//! The text tower's attention is causal: a token's hidden state depends only on itself and the
//! tokens before it. Prompts that start the same way ("a photo of a cat.", "a photo of a dog.")
//! therefore have the same hidden states over that shared start, in every layer. Laid out as a
//! tree (one node per distinct prefix) and run as one sequence in which each node attends only
//! to itself and its ancestors, the batch computes exactly what the prompts would alone, with
//! each shared token once: a template's opening words once for all labels, not once per label.

use std::borrow::Cow;
use std::collections::HashMap;

/// The tokens of a batch of prompts, shared where their prefixes agree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptTree {
    /// Token id of each node, parents before children.
    tokens: Vec<u32>,
    /// Each node's position in its prompt (its depth): the position embedding it gets.
    positions: Vec<usize>,
    /// Each node's parent; `None` for a prompt's first token.
    parents: Vec<Option<usize>>,
    /// The node each prompt is pooled at: its first end-of-text token.
    ends: Vec<usize>,
}

impl PromptTree {
    /// Each prompt runs as far as [`pooled_part`] says.
    pub fn new(prompts: &[Vec<u32>], end_of_text: u32) -> Self {
        let mut tree = PromptTree { tokens: Vec::new(), positions: Vec::new(), parents: Vec::new(), ends: Vec::new() };
        let mut children: HashMap<(Option<usize>, u32), usize> = HashMap::new();
        for prompt in prompts {
            let prompt = pooled_part(prompt, end_of_text);
            let mut node = None;
            for (position, &token) in prompt.iter().enumerate() {
                let next = *children.entry((node, token)).or_insert_with(|| {
                    tree.tokens.push(token);
                    tree.positions.push(position);
                    tree.parents.push(node);
                    tree.tokens.len() - 1
                });
                node = Some(next);
            }
            // `prompt` is never empty, so the loop ran at least once.
            tree.ends.push(node.unwrap_or(0));
        }
        tree
    }

    /// Nodes: the token rows the text tower computes.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    pub fn tokens(&self) -> &[u32] {
        &self.tokens
    }

    pub fn positions(&self) -> &[usize] {
        &self.positions
    }

    /// The node of each prompt's pooled token, in the prompts' order.
    pub fn ends(&self) -> &[usize] {
        &self.ends
    }

    /// Row-major `[len, len]`, `true` where node `row` may NOT attend to node `column` (burn's
    /// mask convention): everything but the node itself and its ancestors.
    pub fn attention_mask(&self) -> Vec<bool> {
        let n = self.len();
        let mut masked = vec![true; n * n];
        for row in 0..n {
            let mut node = Some(row);
            while let Some(visible) = node {
                masked[row * n + visible] = false;
                node = self.parents[visible];
            }
        }
        masked
    }

    /// How many nodes a batch of prompts would take, given in lexicographic order: each prompt
    /// adds the tokens after the prefix it shares with the one before it.
    pub fn added_nodes(previous: Option<&[u32]>, prompt: &[u32], end_of_text: u32) -> usize {
        let prompt = pooled_part(prompt, end_of_text);
        let shared = previous.map_or(0, |previous| {
            pooled_part(previous, end_of_text).iter().zip(prompt.iter()).take_while(|(a, b)| a == b).count()
        });
        prompt.len() - shared
    }
}

/// The tokens of a prompt the tower runs: up to and including its first `end_of_text` (later
/// tokens cannot change the features pooled there), or all of them if it has none. An empty
/// prompt is read as the single token `end_of_text`.
fn pooled_part(prompt: &[u32], end_of_text: u32) -> Cow<'_, [u32]> {
    match prompt.iter().position(|&id| id == end_of_text) {
        Some(end) => Cow::Borrowed(&prompt[..=end]),
        None if prompt.is_empty() => Cow::Owned(vec![end_of_text]),
        None => Cow::Borrowed(prompt),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EOT: u32 = 9;

    #[test]
    fn shared_starts_are_one_node_and_each_prompt_ends_at_its_own() {
        // <sot>=1 "a"=2 "photo"=3 "of"=4 then "cat"=5 / "dog"=6, "."=7, <eot>.
        let cat = vec![1, 2, 3, 4, 2, 5, 7, EOT];
        let dog = vec![1, 2, 3, 4, 2, 6, 7, EOT];
        let tree = PromptTree::new(&[cat.clone(), dog.clone(), cat.clone()], EOT);
        assert_eq!(tree.len(), 5 + 3 + 3);
        assert_eq!(tree.ends(), &[7, 10, 7]);
        // Every prompt's path from its end back to the root spells the prompt, at its positions.
        for (prompt, &end) in [&cat, &dog, &cat].iter().zip(tree.ends()) {
            let mut path = Vec::new();
            let mut node = Some(end);
            while let Some(n) = node {
                path.push((tree.tokens()[n], tree.positions()[n]));
                node = tree.parents[n];
            }
            path.reverse();
            let expected: Vec<(u32, usize)> = prompt.iter().copied().zip(0..).collect();
            assert_eq!(path, expected);
        }
    }

    #[test]
    fn tokens_after_the_end_of_text_are_dropped_and_missing_ends_pool_at_the_last_token() {
        let tree = PromptTree::new(&[vec![1, 5, EOT, 0, 0], vec![1, 6], vec![]], EOT);
        assert_eq!(tree.tokens(), &[1, 5, EOT, 6, EOT]);
        assert_eq!(tree.ends(), &[2, 3, 4]);
        assert_eq!(tree.positions(), &[0, 1, 2, 1, 0]);
    }

    #[test]
    fn a_node_sees_itself_and_its_ancestors_only() {
        let tree = PromptTree::new(&[vec![1, 2, 5, EOT], vec![1, 2, 6, EOT]], EOT);
        // Nodes: 0 <sot>, 1 "a", 2 "cat", 3 eot(cat), 4 "dog", 5 eot(dog).
        let mask = tree.attention_mask();
        let sees = |row: usize| (0..tree.len()).filter(|&c| !mask[row * tree.len() + c]).collect::<Vec<_>>();
        assert_eq!(sees(0), vec![0]);
        assert_eq!(sees(3), vec![0, 1, 2, 3]);
        assert_eq!(sees(4), vec![0, 1, 4]);
        assert_eq!(sees(5), vec![0, 1, 4, 5]);
    }

    #[test]
    fn added_nodes_counts_what_the_tree_adds_for_sorted_prompts() {
        let mut prompts =
            vec![vec![1, 2, 3, EOT], vec![1, 2, 4, 4, EOT, 7], vec![1, 8, EOT], vec![1, 2, 3, EOT], vec![], vec![], vec![1, 2, 4, 4, EOT]];
        prompts.sort();
        let mut total = 0;
        for (i, p) in prompts.iter().enumerate() {
            total += PromptTree::added_nodes(i.checked_sub(1).map(|j| prompts[j].as_slice()), p, EOT);
        }
        assert_eq!(total, PromptTree::new(&prompts, EOT).len());
    }
}
