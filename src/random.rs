//! Random bytes from the operating system (secrets, ids).

use std::io::Read;

pub fn bytes<const N: usize>() -> std::io::Result<[u8; N]> {
    let mut bytes = [0u8; N];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes)
}

pub fn u64() -> std::io::Result<u64> {
    bytes::<8>().map(u64::from_le_bytes)
}
