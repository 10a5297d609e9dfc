//! Inputs drawn from a seed, for the tests that send random requests or parse random input.

/// splitmix64: small, fast, and enough to draw test inputs from a seed.
pub struct Rng(pub u64);

impl Rng {
    /// Seeded from `CTLCLOUD_TEST_SEED`, or at random; the seed is printed, to be given again.
    pub fn from_env() -> (Rng, u64) {
        let seed = match std::env::var("CTLCLOUD_TEST_SEED") {
            Ok(seed) => seed.parse().expect("CTLCLOUD_TEST_SEED is a number"),
            Err(_) => {
                let mut bytes = [0; 8];
                getrandom::getrandom(&mut bytes).unwrap();
                u64::from_le_bytes(bytes)
            }
        };
        println!("seed {seed} (CTLCLOUD_TEST_SEED={seed} draws the same inputs again)");
        (Rng(seed), seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True `percent` times in a hundred.
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Percent-encodes everything but unreserved characters, so that any string can be a segment.
pub fn encode(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
