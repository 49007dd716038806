//! Sprig's math functions. Integer functions use `cast.ToInt64` on their arguments;
//! the `…f` functions use exact decimal arithmetic as Sprig's shopspring/decimal does.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::convert_fns::{to_float64, to_int64};
use super::{MAX_LIST_LEN, err, vlist};
use crate::FuncMap;
use crate::error::Result;
use crate::function::{Rest, add_fn};
use crate::value::Value;

/// A decimal `m × 10^e`, enough for shopspring/decimal's add, sub, mul and div.
#[derive(Clone, Copy, Debug)]
struct Dec {
    m: i128,
    e: i32,
}

impl Dec {
    /// `decimal.NewFromFloat`: the shortest decimal that round-trips.
    fn from_f64(f: f64) -> Option<Dec> {
        if !f.is_finite() {
            return None;
        }
        let s = format!("{f:e}");
        let (mant, exp) = s.split_once('e')?;
        let exp: i32 = exp.parse().ok()?;
        let neg = mant.starts_with('-');
        let mant = mant.trim_start_matches('-');
        let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
        let digits = format!("{int}{frac}");
        let m: i128 = digits.parse().ok()?;
        Some(Dec {
            m: if neg { -m } else { m },
            e: exp - frac.len() as i32,
        })
    }

    fn to_f64(self) -> f64 {
        format!("{}e{}", self.m, self.e).parse().unwrap_or(f64::NAN)
    }

    fn pow10(n: u32) -> Option<i128> {
        10i128.checked_pow(n)
    }

    fn align(a: Dec, b: Dec) -> Option<(i128, i128, i32)> {
        if a.e == b.e {
            return Some((a.m, b.m, a.e));
        }
        let (hi, lo) = if a.e > b.e { (a, b) } else { (b, a) };
        let scaled = hi.m.checked_mul(Self::pow10((hi.e - lo.e) as u32)?)?;
        if a.e > b.e {
            Some((scaled, lo.m, lo.e))
        } else {
            Some((lo.m, scaled, lo.e))
        }
    }

    fn add(a: Dec, b: Dec) -> Option<Dec> {
        let (x, y, e) = Self::align(a, b)?;
        Some(Dec {
            m: x.checked_add(y)?,
            e,
        })
    }

    fn sub(a: Dec, b: Dec) -> Option<Dec> {
        let (x, y, e) = Self::align(a, b)?;
        Some(Dec {
            m: x.checked_sub(y)?,
            e,
        })
    }

    fn mul(a: Dec, b: Dec) -> Option<Dec> {
        Some(Dec {
            m: a.m.checked_mul(b.m)?,
            e: a.e.checked_add(b.e)?,
        })
    }

    /// `Div`: rounded (half away from zero) to 16 decimal places.
    fn div(a: Dec, b: Dec) -> Option<Dec> {
        if b.m == 0 {
            return None;
        }
        let k = a.e - b.e + 16;
        let (num, den) = if k >= 0 {
            (a.m.checked_mul(Self::pow10(k as u32)?)?, b.m)
        } else {
            (a.m, b.m.checked_mul(Self::pow10((-k) as u32)?)?)
        };
        let q = num / den;
        let r = num % den;
        let q = if r.checked_mul(2)?.abs() >= den.abs() {
            if (num < 0) != (den < 0) { q - 1 } else { q + 1 }
        } else {
            q
        };
        Some(Dec { m: q, e: -16 })
    }
}

#[derive(Clone, Copy)]
enum DecOp {
    Add,
    Sub,
    Mul,
    Div,
}

fn decimal_op(first: &Value, rest: &[Value], op: DecOp) -> Result<f64> {
    let mut acc_f = to_float64(first);
    let mut acc = Dec::from_f64(acc_f);
    for v in rest {
        let x = to_float64(v);
        if let DecOp::Div = op
            && x == 0.0
        {
            return Err(err("decimal division by 0"));
        }
        acc = match (acc, Dec::from_f64(x)) {
            (Some(a), Some(b)) => match op {
                DecOp::Add => Dec::add(a, b),
                DecOp::Sub => Dec::sub(a, b),
                DecOp::Mul => Dec::mul(a, b),
                DecOp::Div => Dec::div(a, b),
            },
            _ => None,
        };
        acc_f = match op {
            DecOp::Add => acc_f + x,
            DecOp::Sub => acc_f - x,
            DecOp::Mul => acc_f * x,
            DecOp::Div => acc_f / x,
        };
        if let Some(d) = acc {
            acc_f = d.to_f64();
        }
    }
    Ok(acc.map_or(acc_f, Dec::to_f64))
}

/// Sprig's `untilStep`, bounded by [`MAX_LIST_LEN`].
fn until_step(start: i64, stop: i64, step: i64) -> Result<Vec<i64>> {
    let mut v = Vec::new();
    let too_long = || {
        err(format!(
            "untilStep: more than the limit of {MAX_LIST_LEN} elements"
        ))
    };
    if stop < start {
        if step >= 0 {
            return Ok(v);
        }
        let mut i = start;
        while i > stop {
            if v.len() >= MAX_LIST_LEN {
                return Err(too_long());
            }
            v.push(i);
            i = match i.checked_add(step) {
                Some(n) => n,
                None => break,
            };
        }
        return Ok(v);
    }
    if step <= 0 {
        return Ok(v);
    }
    let mut i = start;
    while i < stop {
        if v.len() >= MAX_LIST_LEN {
            return Err(too_long());
        }
        v.push(i);
        i = match i.checked_add(step) {
            Some(n) => n,
            None => break,
        };
    }
    Ok(v)
}

fn seq(p: &[i64]) -> Result<String> {
    let list = match p.len() {
        1 => {
            let (start, end) = (1i64, p[0]);
            let inc = if end < start { -1 } else { 1 };
            until_step(start, end.saturating_add(inc), inc)?
        }
        2 => {
            let (start, end) = (p[0], p[1]);
            let step = if end < start { -1 } else { 1 };
            until_step(start, end.saturating_add(step), step)?
        }
        3 => {
            let (start, step, end) = (p[0], p[1], p[2]);
            let mut inc = 1;
            if end < start {
                inc = -1;
                if step > 0 {
                    return Ok(String::new());
                }
            }
            until_step(start, end.saturating_add(inc), step)?
        }
        _ => return Ok(String::new()),
    };
    Ok(list
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(" "))
}

/// A Go `[]int` (`until`, `untilStep`).
fn ints(v: Vec<i64>) -> Value {
    Value::typed(
        "[]int",
        "slice",
        vlist(v.into_iter().map(Value::Int).collect()),
    )
}

fn go_round(val: f64, places: f64, round_on: f64) -> f64 {
    let pow = 10f64.powf(places);
    let digit = pow * val;
    let div = digit.fract();
    let r = if div >= round_on {
        digit.ceil()
    } else {
        digit.floor()
    };
    r / pow
}

/// A Go `int64`, the type of Sprig's integer math results (`typeOf` says `int64`).
pub(crate) fn int64(n: i64) -> Value {
    Value::typed("int64", "int64", Value::Int(n))
}

pub(super) fn register(m: &mut FuncMap) {
    integer_math(m);
    float_and_random_math(m);
}

fn integer_math(m: &mut FuncMap) {
    add_fn(m, "add1", |x: Value| {
        Ok(int64(to_int64(&x).wrapping_add(1)))
    });
    add_fn(m, "add", |Rest(a): Rest<Value>| {
        Ok(int64(
            a.iter().fold(0i64, |acc, v| acc.wrapping_add(to_int64(v))),
        ))
    });
    add_fn(m, "sub", |x: Value, y: Value| {
        Ok(int64(to_int64(&x).wrapping_sub(to_int64(&y))))
    });
    add_fn(m, "mul", |x: Value, Rest(rest): Rest<Value>| {
        Ok(int64(rest.iter().fold(to_int64(&x), |acc, v| {
            acc.wrapping_mul(to_int64(v))
        })))
    });
    add_fn(m, "div", |x: Value, y: Value| {
        let d = nonzero(to_int64(&y))?;
        Ok(int64(to_int64(&x).wrapping_div(d)))
    });
    add_fn(m, "mod", |x: Value, y: Value| {
        let d = nonzero(to_int64(&y))?;
        Ok(int64(to_int64(&x).wrapping_rem(d)))
    });
    for name in ["max", "biggest"] {
        add_fn(m, name, |x: Value, Rest(rest): Rest<Value>| {
            Ok(int64(
                rest.iter().map(to_int64).fold(to_int64(&x), i64::max),
            ))
        });
    }
    add_fn(m, "min", |x: Value, Rest(rest): Rest<Value>| {
        Ok(int64(
            rest.iter().map(to_int64).fold(to_int64(&x), i64::min),
        ))
    });
    add_fn(m, "maxf", |x: Value, Rest(rest): Rest<Value>| {
        Ok(rest
            .iter()
            .fold(to_float64(&x), |acc, v| go_max(acc, to_float64(v))))
    });
    add_fn(m, "minf", |x: Value, Rest(rest): Rest<Value>| {
        Ok(rest
            .iter()
            .fold(to_float64(&x), |acc, v| go_min(acc, to_float64(v))))
    });
    add_fn(m, "floor", |x: Value| Ok(to_float64(&x).floor()));
    add_fn(m, "ceil", |x: Value| Ok(to_float64(&x).ceil()));
}

/// Go's integer division check.
fn nonzero(d: i64) -> Result<i64> {
    match d {
        0 => Err(err("runtime error: integer divide by zero")),
        d => Ok(d),
    }
}

fn float_and_random_math(m: &mut FuncMap) {
    add_fn(m, "round", |v: Value, p: i64, Rest(opt): Rest<Value>| {
        let on = match opt.first() {
            Some(Value::Float(f)) => *f,
            Some(Value::Int(n)) => *n as f64,
            Some(_) => return Err(err("wrong type for value; expected float64")),
            None => 0.5,
        };
        Ok(go_round(to_float64(&v), p as f64, on))
    });
    add_fn(m, "add1f", |v: Value| {
        decimal_op(&v, &[Value::Int(1)], DecOp::Add)
    });
    add_fn(m, "addf", |Rest(a): Rest<Value>| {
        decimal_op(&Value::Float(0.0), &a, DecOp::Add)
    });
    add_fn(m, "subf", |v: Value, Rest(a): Rest<Value>| {
        decimal_op(&v, &a, DecOp::Sub)
    });
    add_fn(m, "mulf", |v: Value, Rest(a): Rest<Value>| {
        decimal_op(&v, &a, DecOp::Mul)
    });
    add_fn(m, "divf", |v: Value, Rest(a): Rest<Value>| {
        decimal_op(&v, &a, DecOp::Div)
    });
    add_fn(m, "until", |n: i64| {
        let step = if n < 0 { -1 } else { 1 };
        Ok(ints(until_step(0, n, step)?))
    });
    add_fn(m, "untilStep", |start: i64, stop: i64, step: i64| {
        Ok(ints(until_step(start, stop, step)?))
    });
    add_fn(m, "seq", |Rest(p): Rest<i64>| seq(&p));
    add_fn(m, "randInt", |lo: i64, hi: i64| {
        if hi <= lo {
            return Err(err("invalid argument to Intn"));
        }
        use rand::RngExt;
        Ok(rand::rng().random_range(lo..hi))
    });
}

fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals() {
        let f = |a: f64, b: f64, op| decimal_op(&Value::Float(a), &[Value::Float(b)], op).unwrap();
        assert_eq!(f(0.1, 0.2, DecOp::Add), 0.3);
        assert_eq!(f(1.1, 3.0, DecOp::Mul), 3.3);
        assert_eq!(f(1.0, 3.0, DecOp::Div), 0.3333333333333333);
        assert_eq!(f(10.0, 4.0, DecOp::Div), 2.5);
        assert_eq!(seq(&[3]).unwrap(), "1 2 3");
        assert_eq!(seq(&[5, -2, 1]).unwrap(), "5 3 1");
        assert!(until_step(0, i64::MAX, 1).is_err());
    }
}
