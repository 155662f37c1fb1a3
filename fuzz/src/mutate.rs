//! Inputs made from a seed corpus: a small deterministic generator and the
//! mutations a fuzzer makes (bit flips, byte changes, insertions and deletions,
//! splices of two inputs, repeated chunks, interesting tokens).

/// xorshift64*: deterministic from its seed, so a failing input can be made
/// again from the seed the run prints.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `bound` (0 when `bound` is 0).
    pub fn below(&mut self, bound: usize) -> usize {
        if bound == 0 {
            0
        } else {
            (self.next() % bound as u64) as usize
        }
    }
}

/// Tokens that tend to matter to YAML, paths and the Kratix formats.
const TOKENS: &[&[u8]] = &[
    b"..",
    b"/",
    b"../",
    b".git",
    b".kratix",
    b"\0",
    b"\n",
    b": ",
    b"- ",
    b"---\n",
    b"{",
    b"}",
    b"[",
    b"]",
    b"&a ",
    b"*a",
    b"!!binary ",
    b"<<: ",
    b"\"",
    b"'",
    b"#",
    b"|\n",
    b">\n",
    b"~",
    b"null",
    b"yes",
    b"no",
    b"1e999",
    b"-0",
    b"0x",
    b"\xff\xfe",
    b"\xe2\x80\xae",
    b"conditions",
    b"kratix",
    b"suspend",
    b"retryAfter",
    b"matchLabels",
    b"directory",
    b"workflows",
    b"pipelines",
    b"metadata",
    b"name",
    b"spec",
    b"apiVersion",
    b"kind",
    b"Promise",
    b"Pipeline",
    b"containers",
    b"image",
    b"rbac",
    b"permissions",
];

/// A new input from `base` (and `other`, for splices): one to four mutations.
pub fn mutate(rng: &mut Rng, base: &[u8], other: &[u8], max_len: usize) -> Vec<u8> {
    let mut data = base.to_vec();
    for _ in 0..=rng.below(4) {
        match rng.below(8) {
            0 if !data.is_empty() => {
                let i = rng.below(data.len());
                data[i] ^= 1 << rng.below(8);
            }
            1 if !data.is_empty() => {
                let i = rng.below(data.len());
                data[i] = rng.next() as u8;
            }
            2 => {
                let i = rng.below(data.len() + 1);
                let token = TOKENS[rng.below(TOKENS.len())];
                data.splice(i..i, token.iter().copied());
            }
            3 if !data.is_empty() => {
                let start = rng.below(data.len());
                let end = (start + 1 + rng.below(16)).min(data.len());
                data.drain(start..end);
            }
            4 if !other.is_empty() => {
                let cut = rng.below(data.len() + 1);
                let from = rng.below(other.len());
                data.truncate(cut);
                data.extend_from_slice(&other[from..]);
            }
            5 if !data.is_empty() => {
                let start = rng.below(data.len());
                let end = (start + 1 + rng.below(64)).min(data.len());
                let chunk = data[start..end].to_vec();
                for _ in 0..=rng.below(8) {
                    data.splice(start..start, chunk.iter().copied());
                }
            }
            6 => {
                let i = rng.below(data.len() + 1);
                let byte = rng.next() as u8;
                data.insert(i, byte);
            }
            _ => {
                // A line duplicated: YAML keys given twice, lists grown.
                let lines: Vec<&[u8]> = data.split(|b| *b == b'\n').collect();
                if let Some(line) = lines.get(rng.below(lines.len())) {
                    let mut line = line.to_vec();
                    line.push(b'\n');
                    let i = rng.below(data.len() + 1);
                    data.splice(i..i, line);
                }
            }
        }
    }
    data.truncate(max_len);
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_makes_the_same_inputs() {
        let made = |seed| {
            let mut rng = Rng::new(seed);
            (0..50)
                .map(|_| mutate(&mut rng, b"a: 1\nb: [x]\n", b"c: d\n", 1024))
                .collect::<Vec<_>>()
        };
        assert_eq!(made(7), made(7));
        assert_ne!(made(7), made(8));
        let mut rng = Rng::new(1);
        assert!((0..1000).all(|_| mutate(&mut rng, &[0; 100], b"", 64).len() <= 64));
    }
}
