//! Sprig's encoding, hashing, password and random functions.
//! `getHostByName` answers empty (no network while rendering).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::{MAX_STRING_BYTES, err, vstr};
use crate::FuncMap;
use crate::error::Result;
use crate::function::add_fn;

fn hex_digest<D: sha2::Digest>(s: &str) -> String {
    hex::encode(D::digest(s.as_bytes()))
}

fn adler32(data: &[u8]) -> u32 {
    const MOD: u32 = 65521;
    let (mut a, mut b) = (1u32, 0u32);
    for chunk in data.chunks(5552) {
        for &x in chunk {
            a += u32::from(x);
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    (b << 16) | a
}

/// Go's `base64.StdEncoding.DecodeString`, with its error offsets
/// (`illegal base64 data at input byte N`). Newlines are skipped as Go does.
pub(super) fn go_b64_decode(src: &[u8]) -> core::result::Result<Vec<u8>, usize> {
    fn val(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let mut out = Vec::with_capacity(src.len() / 4 * 3);
    let mut si = 0usize;
    loop {
        let mut buf = [0u32; 4];
        let mut dlen = 4;
        let mut j = 0;
        let mut end = false;
        while j < 4 {
            if si == src.len() {
                if j == 0 {
                    return Ok(out);
                }
                return Err(si - j);
            }
            let c = src[si];
            si += 1;
            if let Some(v) = val(c) {
                buf[j] = v;
                j += 1;
                continue;
            }
            if c == b'\n' || c == b'\r' {
                continue;
            }
            if c != b'=' {
                return Err(si - 1);
            }
            match j {
                0 | 1 => return Err(si - 1),
                2 => {
                    while si < src.len() && (src[si] == b'\n' || src[si] == b'\r') {
                        si += 1;
                    }
                    if si == src.len() {
                        return Err(src.len());
                    }
                    if src[si] != b'=' {
                        return Err(si - 1);
                    }
                    si += 1;
                }
                _ => {}
            }
            while si < src.len() && (src[si] == b'\n' || src[si] == b'\r') {
                si += 1;
            }
            if si < src.len() {
                return Err(si);
            }
            dlen = j;
            end = true;
            break;
        }
        let v = (buf[0] << 18) | (buf[1] << 12) | (buf[2] << 6) | buf[3];
        let bytes = [(v >> 16) as u8, (v >> 8) as u8, v as u8];
        out.extend_from_slice(&bytes[..dlen - 1]);
        if end {
            return Ok(out);
        }
    }
}

fn aes_key(password: &str) -> aes::Aes256 {
    use aes::cipher::KeyInit;
    let mut key = [0u8; 32];
    let n = password.len().min(32);
    key[..n].copy_from_slice(&password.as_bytes()[..n]);
    aes::Aes256::new(&key.into())
}

/// Sprig's `encryptAES`: AES-256-CBC (key = the password's first 32 bytes, zero
/// padded), PKCS#7 padding, random IV prepended, base64.
fn encrypt_aes(password: &str, plain: &[u8]) -> String {
    use aes::cipher::BlockCipherEncrypt;
    use rand::RngExt;
    if plain.is_empty() {
        return String::new();
    }
    let cipher = aes_key(password);
    let pad = 16 - plain.len() % 16;
    let mut content = plain.to_vec();
    content.extend(core::iter::repeat_n(pad as u8, pad));
    let mut out = Vec::with_capacity(16 + content.len());
    let mut iv = [0u8; 16];
    rand::rng().fill(&mut iv);
    out.extend_from_slice(&iv);
    let mut prev = iv;
    for chunk in content.chunks(16) {
        let mut block = [0u8; 16];
        for i in 0..16 {
            block[i] = chunk[i] ^ prev[i];
        }
        let mut b = block.into();
        cipher.encrypt_block(&mut b);
        prev = b.into();
        out.extend_from_slice(&prev);
    }
    data_encoding::BASE64.encode(&out)
}

/// Sprig's `decryptAES` (Go panics on malformed input; that is an error here).
fn decrypt_aes(password: &str, b64: &str) -> Result<String> {
    use aes::cipher::BlockCipherDecrypt;
    if b64.is_empty() {
        return Ok(String::new());
    }
    let crypt = go_b64_decode(b64.as_bytes())
        .map_err(|at| err(format!("illegal base64 data at input byte {at}")))?;
    if crypt.len() < 16 {
        return Err(err(format!(
            "runtime error: slice bounds out of range [:16] with capacity {}",
            crypt.len()
        )));
    }
    let (iv, body) = crypt.split_at(16);
    if body.len() % 16 != 0 {
        return Err(err("crypto/cipher: input not full blocks"));
    }
    let cipher = aes_key(password);
    let mut prev: [u8; 16] = iv.try_into().unwrap_or([0; 16]);
    let mut out = Vec::with_capacity(body.len());
    for chunk in body.chunks(16) {
        let mut b: [u8; 16] = chunk.try_into().unwrap_or([0; 16]);
        let cur = b;
        let mut arr = b.into();
        cipher.decrypt_block(&mut arr);
        b = arr.into();
        for i in 0..16 {
            b[i] ^= prev[i];
        }
        prev = cur;
        out.extend_from_slice(&b);
    }
    let pad = out.last().copied().unwrap_or(0) as usize;
    if pad > out.len() {
        return Err(err(format!(
            "runtime error: slice bounds out of range [:{}]",
            out.len() as i64 - pad as i64
        )));
    }
    out.truncate(out.len() - pad);
    Ok(String::from_utf8_lossy(&out).into_owned())
}

fn random_from(charset: &[u8], n: i64) -> Result<String> {
    if n < 0 {
        return Ok(String::new());
    }
    let n = n as usize;
    if n > MAX_STRING_BYTES {
        return Err(err(format!(
            "random string of {n} characters is over the limit of {MAX_STRING_BYTES}"
        )));
    }
    use rand::RngExt;
    let mut rng = rand::rng();
    Ok((0..n)
        .map(|_| charset[rng.random_range(0..charset.len())] as char)
        .collect())
}

const ALPHA: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const NUM: &[u8] = b"0123456789";

/// Go's `string(bytes)` as far as UTF-8 text can carry it: each byte of an
/// invalid UTF-8 sequence becomes U+001A (SUBSTITUTE), one byte, so `len` still
/// counts Go's bytes (`randBytes 24 | b64dec | len` is 24).
fn bytes_as_text(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len());
    for chunk in b.utf8_chunks() {
        out.push_str(chunk.valid());
        out.extend(core::iter::repeat_n('\u{1a}', chunk.invalid().len()));
    }
    out
}

/// Sprig's `derivePassword` templates (Master Password's password types).
fn password_templates(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "maximum" => &["anoxxxxxxxxxxxxxxxxx", "axxxxxxxxxxxxxxxxxno"],
        "long" => &[
            "CvcvnoCvcvCvcv",
            "CvcvCvcvnoCvcv",
            "CvcvCvcvCvcvno",
            "CvccnoCvcvCvcv",
            "CvccCvcvnoCvcv",
            "CvccCvcvCvcvno",
            "CvcvnoCvccCvcv",
            "CvcvCvccnoCvcv",
            "CvcvCvccCvcvno",
            "CvcvnoCvcvCvcc",
            "CvcvCvcvnoCvcc",
            "CvcvCvcvCvccno",
            "CvccnoCvccCvcv",
            "CvccCvccnoCvcv",
            "CvccCvccCvcvno",
            "CvcvnoCvccCvcc",
            "CvcvCvccnoCvcc",
            "CvcvCvccCvccno",
            "CvccnoCvcvCvcc",
            "CvccCvcvnoCvcc",
            "CvccCvcvCvccno",
        ],
        "medium" => &["CvcnoCvc", "CvcCvcno"],
        "short" => &["Cvcn"],
        "basic" => &["aaanaaan", "aannaaan", "aaannaaa"],
        "pin" => &["nnnn"],
        _ => return None,
    })
}

/// The characters a `derivePassword` template letter stands for.
fn template_chars(c: u8) -> &'static [u8] {
    match c {
        b'V' => b"AEIOU",
        b'C' => b"BCDFGHJKLMNPQRSTVWXYZ",
        b'v' => b"aeiou",
        b'c' => b"bcdfghjklmnpqrstvwxyz",
        b'A' => b"AEIOUBCDFGHJKLMNPQRSTVWXYZ",
        b'a' => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz",
        b'n' => b"0123456789",
        b'o' => b"@&%?,=[]_:-+*$#!'^~;()/.",
        _ => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()",
    }
}

/// HMAC-SHA256 (RFC 2104) of `msg` under `key`.
fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |b: u8| block.map(|k| k ^ b);
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(msg)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

/// Sprig's `derivePassword`: the Master Password algorithm (scrypt master key,
/// HMAC-SHA256 site seed, template). Failures are returned as text, as Sprig does.
fn derive_password(counter: u32, kind: &str, password: &str, user: &str, site: &str) -> String {
    const SEED: &[u8] = b"com.lyndir.masterpassword";
    let Some(templates) = password_templates(kind) else {
        return format!("cannot find password template {kind}");
    };
    let with_len = |s: &str| {
        let mut b = SEED.to_vec();
        b.extend_from_slice(&u32::try_from(s.len()).unwrap_or(u32::MAX).to_be_bytes());
        b.extend_from_slice(s.as_bytes());
        b
    };
    let mut key = [0u8; 64];
    let derived = scrypt::Params::new(15, 8, 2)
        .map_err(|e| format!("{e}"))
        .and_then(|p| {
            scrypt::scrypt(password.as_bytes(), &with_len(user), &p, &mut key)
                .map_err(|e| format!("{e}"))
        });
    if let Err(e) = derived {
        return format!("failed to derive password: {e}");
    }
    let mut msg = with_len(site);
    msg.extend_from_slice(&counter.to_be_bytes());
    let seed = hmac_sha256(&key, &msg);
    let template = templates[usize::from(seed[0]) % templates.len()].as_bytes();
    template
        .iter()
        .zip(&seed[1..])
        .map(|(&c, &s)| {
            let chars = template_chars(c);
            char::from(chars[usize::from(s) % chars.len()])
        })
        .collect()
}

pub(super) fn register(m: &mut FuncMap) {
    encodings_and_hashes(m);
    passwords_and_keys(m);
}

fn encodings_and_hashes(m: &mut FuncMap) {
    add_fn(m, "b64enc", |s: String| {
        Ok(data_encoding::BASE64.encode(s.as_bytes()))
    });
    add_fn(m, "b64dec", |s: String| {
        Ok(vstr(match go_b64_decode(s.as_bytes()) {
            Ok(b) => bytes_as_text(&b),
            Err(at) => format!("illegal base64 data at input byte {at}"),
        }))
    });
    add_fn(m, "b32enc", |s: String| {
        Ok(data_encoding::BASE32.encode(s.as_bytes()))
    });
    add_fn(m, "b32dec", |s: String| {
        Ok(vstr(match data_encoding::BASE32.decode(s.as_bytes()) {
            Ok(b) => bytes_as_text(&b),
            Err(e) => format!("illegal base32 data at input byte {}", e.position),
        }))
    });
    add_fn(m, "sha1sum", |s: String| {
        use sha1::Digest;
        Ok(hex::encode(sha1::Sha1::digest(s.as_bytes())))
    });
    add_fn(m, "sha256sum", |s: String| {
        Ok(vstr(hex_digest::<sha2::Sha256>(&s)))
    });
    add_fn(m, "sha512sum", |s: String| {
        Ok(vstr(hex_digest::<sha2::Sha512>(&s)))
    });
    add_fn(m, "adler32sum", |s: String| {
        Ok(adler32(s.as_bytes()).to_string())
    });
    add_fn(m, "uuidv4", || Ok(uuid::Uuid::new_v4().to_string()));
    add_fn(m, "randAlphaNum", |n: i64| Ok(vstr(random_from(ALNUM, n)?)));
    add_fn(m, "randAlpha", |n: i64| Ok(vstr(random_from(ALPHA, n)?)));
    add_fn(m, "randNumeric", |n: i64| Ok(vstr(random_from(NUM, n)?)));
    add_fn(m, "randAscii", |n: i64| {
        let printable: alloc::vec::Vec<u8> = (32u8..=126).collect();
        Ok(vstr(random_from(&printable, n)?))
    });
    add_fn(m, "randBytes", |n: i64| {
        if !(0..=MAX_STRING_BYTES as i64).contains(&n) {
            return Err(err(format!("randBytes: count {n} out of range")));
        }
        use rand::RngExt;
        let mut rng = rand::rng();
        let bytes: alloc::vec::Vec<u8> = (0..n).map(|_| rng.random::<u8>()).collect();
        Ok(data_encoding::BASE64.encode(&bytes))
    });
}

fn passwords_and_keys(m: &mut FuncMap) {
    add_fn(m, "bcrypt", |s: String| {
        bcrypt::hash_with_result(s, 10)
            .map(|h| h.format_for_version(bcrypt::Version::TwoA))
            .map_err(|e| err(format!("bcrypt: {e}")))
    });
    add_fn(m, "htpasswd", |user: String, pass: String| {
        if user.contains(':') {
            return Ok(format!("invalid username: {user}"));
        }
        bcrypt::hash_with_result(pass, 10)
            .map(|h| format!("{user}:{}", h.format_for_version(bcrypt::Version::TwoA)))
            .map_err(|e| err(format!("htpasswd: {e}")))
    });
    add_fn(
        m,
        "derivePassword",
        |counter: i64, kind: String, pw: String, user: String, site: String| {
            let counter =
                u32::try_from(counter).map_err(|_| err("wrong type for value; expected uint32"))?;
            Ok(derive_password(counter, &kind, &pw, &user, &site))
        },
    );
    add_fn(m, "encryptAES", |pw: String, text: String| {
        Ok(encrypt_aes(&pw, text.as_bytes()))
    });
    add_fn(m, "decryptAES", |pw: String, b64: String| {
        decrypt_aes(&pw, &b64)
    });
    // No network while rendering: an empty answer, as the Helm SDK gives offline.
    add_fn(m, "getHostByName", |_name: String| Ok(String::new()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adler() {
        assert_eq!(adler32(b"Wikipedia"), 0x11E60398);
        assert_eq!(go_b64_decode(b"aGVsbG8="), Ok(b"hello".to_vec()));
        assert_eq!(go_b64_decode(b"aGVsbG8"), Err(4));
        assert_eq!(go_b64_decode(b"aGVsbG8=x"), Err(8));
        assert_eq!(go_b64_decode(b"!!"), Err(0));
        assert_eq!(go_b64_decode(b"aGk="), Ok(b"hi".to_vec()));
        assert_eq!(go_b64_decode(b"aA=="), Ok(b"h".to_vec()));
        let c = encrypt_aes("secretkey", b"plaintext and more than a block");
        assert_eq!(
            decrypt_aes("secretkey", &c).unwrap(),
            "plaintext and more than a block"
        );
        assert!(decrypt_aes("k", "AAAA").is_err());
    }
}
