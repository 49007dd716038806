//! A minimal DER reader and writer: what re-encoding a precertificate and reading an RFC 3161
//! timestamp need (single-byte tags, definite lengths).

use crate::error::{Error, Result};

/// One tag-length-value element.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tlv<'a> {
    pub tag: u8,
    pub value: &'a [u8],
    /// The whole element, header included.
    pub raw: &'a [u8],
}

/// Reads one element from the front of `input`; returns it and the rest.
pub(crate) fn read(input: &[u8]) -> Result<(Tlv<'_>, &[u8])> {
    let bad = |d: &str| Error::malformed("DER", d);
    let (&tag, rest) = input.split_first().ok_or_else(|| bad("empty input"))?;
    if tag & 0x1f == 0x1f {
        return Err(bad("multi-byte tags are not supported"));
    }
    let (&first, mut rest) = rest.split_first().ok_or_else(|| bad("missing length"))?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return Err(bad("bad length"));
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        rest = &rest[n..];
        len
    };
    if rest.len() < len {
        return Err(bad("truncated element"));
    }
    let header = input.len() - rest.len();
    let tlv = Tlv {
        tag,
        value: &rest[..len],
        raw: &input[..header + len],
    };
    Ok((tlv, &rest[len..]))
}

/// Reads exactly one element (nothing may follow).
pub(crate) fn read_one(input: &[u8]) -> Result<Tlv<'_>> {
    let (tlv, rest) = read(input)?;
    if !rest.is_empty() {
        return Err(Error::malformed("DER", "trailing data"));
    }
    Ok(tlv)
}

/// Reads an element and checks its tag.
pub(crate) fn expect(input: &[u8], tag: u8) -> Result<(Tlv<'_>, &[u8])> {
    let (tlv, rest) = read(input)?;
    if tlv.tag != tag {
        return Err(Error::malformed(
            "DER",
            format!("expected tag {tag:#04x}, found {:#04x}", tlv.tag),
        ));
    }
    Ok((tlv, rest))
}

/// All elements of a constructed value's content.
pub(crate) fn items(mut content: &[u8]) -> Result<Vec<Tlv<'_>>> {
    let mut out = Vec::new();
    while !content.is_empty() {
        let (tlv, rest) = read(content)?;
        out.push(tlv);
        content = rest;
    }
    Ok(out)
}

/// Encodes one element.
pub(crate) fn encode(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// Encodes an OBJECT IDENTIFIER's content from its dotted form (at least two arcs).
pub(crate) fn oid(dotted: &str) -> Vec<u8> {
    let arcs: Vec<u64> = dotted.split('.').filter_map(|a| a.parse().ok()).collect();
    let mut out = vec![(arcs[0] * 40 + arcs[1]) as u8];
    for &arc in &arcs[2..] {
        let mut chunk = vec![(arc & 0x7f) as u8];
        let mut rest = arc >> 7;
        while rest > 0 {
            chunk.push(0x80 | (rest & 0x7f) as u8);
            rest >>= 7;
        }
        out.extend(chunk.into_iter().rev());
    }
    out
}

/// Parses a GeneralizedTime (`YYYYMMDDHHMMSS[.fff]Z`) into Unix seconds.
pub(crate) fn generalized_time(value: &[u8]) -> Result<i64> {
    let s = std::str::from_utf8(value).map_err(|e| Error::malformed("GeneralizedTime", e))?;
    let bad = || Error::malformed("GeneralizedTime", s.to_string());
    let s = s.strip_suffix('Z').ok_or_else(bad)?;
    let main = s.split('.').next().ok_or_else(bad)?;
    if main.len() != 14 || !main.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n = |r: std::ops::Range<usize>| main[r].parse::<i64>().map_err(|_| bad());
    crate::time::unix(
        n(0..4)?,
        n(4..6)?,
        n(6..8)?,
        n(8..10)?,
        n(10..12)?,
        n(12..14)?,
    )
    .ok_or_else(bad)
}
