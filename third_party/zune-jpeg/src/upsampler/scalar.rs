/*
 * Copyright (c) 2023.
 *
 * This software is free software;
 *
 * You can redistribute it or modify it under terms of the MIT, Apache License or Zlib license
 */

// libjpeg-turbo's fancy upsampling (jdsample.c), bit for bit. `in_near` is the row above
// (for the first output row), `in_far` the row below (for the second).

/// h2v1_fancy_upsample: 3/4·nearer + 1/4·further, biases 1 (left) and 2 (right).
pub fn upsample_horizontal(
    input: &[i16], _ref: &[i16], _in_near: &[i16], _scratch: &mut [i16], output: &mut [i16]
) {
    assert_eq!(input.len() * 2, output.len(), "Input length is not half the size of the output length");
    let n = input.len();
    if n == 1 {
        output[0] = input[0];
        output[1] = input[0];
        return;
    }
    output[0] = input[0];
    output[1] = (input[0] * 3 + input[1] + 2) >> 2;
    for i in 1..n - 1 {
        let v = input[i] * 3;
        output[2 * i] = (v + input[i - 1] + 1) >> 2;
        output[2 * i + 1] = (v + input[i + 1] + 2) >> 2;
    }
    output[2 * n - 2] = (input[n - 1] * 3 + input[n - 2] + 1) >> 2;
    output[2 * n - 1] = input[n - 1];
}

/// h1v2_fancy_upsample: 3/4·this row + 1/4·the row above (bias 1) or below (bias 2).
pub fn upsample_vertical(
    input: &[i16], in_near: &[i16], in_far: &[i16], _scratch_space: &mut [i16], output: &mut [i16]
) {
    assert_eq!(input.len() * 2, output.len());
    assert_eq!(in_near.len(), input.len());
    assert_eq!(in_far.len(), input.len());
    let (out_top, out_bottom) = output.split_at_mut(input.len());
    for ((this, above), x) in input.iter().zip(in_near.iter()).zip(out_top) {
        *x = (3 * this + above + 1) >> 2;
    }
    for ((this, below), x) in input.iter().zip(in_far.iter()).zip(out_bottom) {
        *x = (3 * this + below + 2) >> 2;
    }
}

/// One output row of h2v2_fancy_upsample from column sums (3·this row + the other row), kept
/// unrounded between the vertical and the horizontal step as libjpeg does.
fn h2v2_row(this: &[i16], other: &[i16], output: &mut [i16]) {
    let n = this.len();
    let colsum = |i: usize| i32::from(this[i]) * 3 + i32::from(other[i]);
    if n == 1 {
        let c = colsum(0);
        output[0] = ((c * 4 + 8) >> 4) as i16;
        output[1] = ((c * 4 + 7) >> 4) as i16;
        return;
    }
    let (mut last, mut cur) = (colsum(0), colsum(0));
    for i in 0..n {
        let next = if i + 1 < n { colsum(i + 1) } else { cur };
        output[2 * i] = if i == 0 { ((cur * 4 + 8) >> 4) as i16 } else { ((cur * 3 + last + 8) >> 4) as i16 };
        output[2 * i + 1] = if i + 1 == n { ((cur * 4 + 7) >> 4) as i16 } else { ((cur * 3 + next + 7) >> 4) as i16 };
        last = cur;
        cur = next;
    }
}

pub fn upsample_hv(
    input: &[i16], in_near: &[i16], in_far: &[i16], _scratch_space: &mut [i16], output: &mut [i16]
) {
    assert_eq!(input.len() * 4, output.len());
    let half = output.len() / 2;
    let (top, bottom) = output.split_at_mut(half);
    h2v2_row(input, in_near, top);
    h2v2_row(input, in_far, bottom);
}

pub fn upsample_generic(
    input: &[i16], _in_near: &[i16], _in_far: &[i16], _scratch_space: &mut [i16],
    output: &mut [i16]
) {
    // use nearest sample
    let difference = output.len() / input.len();
    if difference > 0 {
        // nearest neighbour
        for (input, chunk_output) in input.iter().zip(output.chunks_exact_mut(difference)) {
            chunk_output.iter_mut().for_each(|x| *x = *input);
        }
    }
}
