//! The original's spacing files: `spacing.pkl` ({slice: (dx, dy)}) and `spacing_3d.pkl`
//! ({patient: (dx, dy, dz)}), Python pickles (protocol 2 to 5) whose values are tuples of numpy
//! scalars (`numpy.core.multiarray.scalar(dtype, raw bytes)`), plain floats or ints.
//!
//! A small pickle machine for exactly this subset: dicts, tuples, lists, strings, numbers, numpy
//! float/int scalars. Anything else is an error naming the opcode, never code execution.

use std::collections::BTreeMap;
use std::path::Path;

use crate::FileError;

#[derive(Debug, Clone, PartialEq)]
enum Value {
    Mark,
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    Dict(Vec<(Value, Value)>),
    Global(String, String),
    /// A numpy dtype by its code ("f8", "f4", "i8", ...).
    Dtype(String),
}

impl Value {
    fn number(&self) -> Option<f64> {
        match self {
            Value::Float(f) => Some(*f),
            Value::Int(i) => Some(*i as f64),
            _ => None,
        }
    }
}

/// Reads a `{name: (numbers...)}` pickle into name -> values (in the tuple's order).
pub fn read_spacing_pickle(path: &Path) -> Result<BTreeMap<String, Vec<f64>>, FileError> {
    let bytes = std::fs::read(path).map_err(|e| FileError::new(path, e))?;
    let value =
        unpickle(&bytes).map_err(|e| FileError::new(path, format!("not a spacing pickle: {e}")))?;
    let Value::Dict(items) = value else {
        return Err(FileError::new(path, "the pickle does not hold a dict"));
    };
    let mut out = BTreeMap::new();
    for (key, value) in items {
        let key = match key {
            Value::Str(s) => s,
            other => {
                return Err(FileError::new(
                    path,
                    format!("key {other:?} is not a string"),
                ))
            }
        };
        let numbers = match &value {
            Value::Tuple(v) | Value::List(v) => {
                v.iter().map(Value::number).collect::<Option<Vec<f64>>>()
            }
            single => single.number().map(|n| vec![n]),
        }
        .ok_or_else(|| {
            FileError::new(
                path,
                format!("the value of '{key}' is not a tuple of numbers"),
            )
        })?;
        out.insert(key, numbers);
    }
    Ok(out)
}

/// Values a pickle may create per byte of its own (memo copies included): a spacing pickle
/// creates a few per entry; a hostile one doubling a tuple through the memo would need
/// exponential memory without this bound.
const VALUES_PER_BYTE: usize = 16;

impl Value {
    /// Values in this one, itself included.
    fn size(&self) -> usize {
        match self {
            Value::Tuple(v) | Value::List(v) => 1 + v.iter().map(Value::size).sum::<usize>(),
            Value::Dict(items) => {
                1 + items
                    .iter()
                    .map(|(k, v)| k.size() + v.size())
                    .sum::<usize>()
            }
            _ => 1,
        }
    }
}

/// The first `N` bytes of a slice that `take` returned with exactly `N` bytes.
fn array<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&bytes[..N]);
    out
}

fn unpickle(data: &[u8]) -> Result<Value, String> {
    let mut machine = Machine {
        data,
        at: 0,
        stack: Vec::new(),
        memo: BTreeMap::new(),
        budget: VALUES_PER_BYTE * data.len() + 1024,
        copied: 0,
    };
    loop {
        let op = machine.take(1)?[0];
        if let Some(result) = machine.step(op)? {
            return Ok(result);
        }
    }
}

/// The pickle virtual machine over one pickle: its position, stack and memo, and how many
/// values memo copies have created so far (bounded by `budget`).
struct Machine<'a> {
    data: &'a [u8],
    at: usize,
    stack: Vec<Value>,
    memo: BTreeMap<u32, Value>,
    budget: usize,
    copied: usize,
}

impl<'a> Machine<'a> {
    /// The next `n` bytes.
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.at.checked_add(n).ok_or("truncated pickle")?;
        let slice = self.data.get(self.at..end).ok_or("truncated pickle")?;
        self.at = end;
        Ok(slice)
    }

    /// A little-endian length or index of `n` bytes (1, 2, 4 or 8).
    fn number(&mut self, n: usize) -> Result<u64, String> {
        let bytes = self.take(n)?;
        let mut wide = [0u8; 8];
        wide[..n].copy_from_slice(bytes);
        Ok(u64::from_le_bytes(wide))
    }

    fn pop(&mut self) -> Result<Value, String> {
        self.stack
            .pop()
            .ok_or_else(|| "stack underflow".to_string())
    }

    /// The values above the topmost mark (the mark removed).
    fn pop_mark(&mut self) -> Result<Vec<Value>, String> {
        let mark = self
            .stack
            .iter()
            .rposition(|v| *v == Value::Mark)
            .ok_or("no mark")?;
        let items = self.stack.split_off(mark + 1);
        self.stack.pop();
        Ok(items)
    }

    /// Counts a copy of `size` values against the budget, before it is made: a hostile pickle
    /// doubling a value through the memo is refused before it allocates.
    fn charge(&mut self, size: usize) -> Result<(), String> {
        self.copied += size;
        if self.copied > self.budget {
            return Err("the pickle expands far beyond its size (memo copies)".into());
        }
        Ok(())
    }

    /// Runs opcode `op`; the pickled value at STOP.
    fn step(&mut self, op: u8) -> Result<Option<Value>, String> {
        match op {
            b'.' => return self.pop().map(Some), // STOP
            0x80 => self.at += 1,                // PROTO
            0x95 => self.at += 8,                // FRAME
            0x94 | b'q' | b'r' | b'h' | b'j' => self.memo_op(op)?,
            b's' | b'u' | b'a' | b'e' => self.fill_op(op)?,
            0x85..=0x87 | b't' | 0x93 | b'c' | b'R' | b'b' => self.build_op(op)?,
            _ => {
                let value = self.literal(op)?;
                self.stack.push(value);
            }
        }
        Ok(None)
    }

    /// The value a literal opcode pushes: constants, numbers, strings, bytes, empty containers.
    fn literal(&mut self, op: u8) -> Result<Value, String> {
        Ok(match op {
            b'(' => Value::Mark,
            b'N' => Value::None,
            0x88 => Value::Bool(true),
            0x89 => Value::Bool(false),
            b'K' => Value::Int(self.number(1)? as i64),
            b'M' => Value::Int(self.number(2)? as i64),
            b'J' => Value::Int(i32::from_le_bytes(array(self.take(4)?)) as i64),
            b'G' => Value::Float(f64::from_be_bytes(array(self.take(8)?))),
            0x8c | b'X' | 0x8d => {
                let n = self.number(match op {
                    0x8c => 1,
                    b'X' => 4,
                    _ => 8,
                })? as usize;
                let s = std::str::from_utf8(self.take(n)?).map_err(|e| e.to_string())?;
                Value::Str(s.to_string())
            }
            b'C' | b'B' | 0x8e => {
                let n = self.number(match op {
                    b'C' => 1,
                    b'B' => 4,
                    _ => 8,
                })? as usize;
                Value::Bytes(self.take(n)?.to_vec())
            }
            b'}' => Value::Dict(Vec::new()),
            b']' => Value::List(Vec::new()),
            b')' => Value::Tuple(Vec::new()),
            other => return Err(format!("unsupported pickle opcode 0x{other:02x}")),
        })
    }

    /// MEMOIZE, PUT (BINPUT, LONG_BINPUT) and GET (BINGET, LONG_BINGET).
    fn memo_op(&mut self, op: u8) -> Result<(), String> {
        match op {
            0x94 | b'q' | b'r' => {
                let index = match op {
                    0x94 => self.memo.len() as u32,
                    b'q' => self.number(1)? as u32,
                    _ => self.number(4)? as u32,
                };
                let size = self.stack.last().ok_or("memoize on an empty stack")?.size();
                self.charge(size)?;
                let top = self.stack.last().expect("checked above").clone();
                self.memo.insert(index, top);
            }
            _ => {
                let index = self.number(if op == b'h' { 1 } else { 4 })? as u32;
                let size = self.memo.get(&index).ok_or("unknown memo entry")?.size();
                self.charge(size)?;
                let value = self.memo[&index].clone();
                self.stack.push(value);
            }
        }
        Ok(())
    }

    /// Tuples, globals, REDUCE and BUILD.
    fn build_op(&mut self, op: u8) -> Result<(), String> {
        let value = match op {
            0x85..=0x87 => {
                let n = (op - 0x84) as usize;
                let from = self.stack.len().checked_sub(n).ok_or("stack underflow")?;
                Value::Tuple(self.stack.split_off(from))
            }
            b't' => Value::Tuple(self.pop_mark()?),
            0x93 => {
                let name = self.pop()?;
                let module = self.pop()?;
                match (module, name) {
                    (Value::Str(m), Value::Str(n)) => Value::Global(m, n),
                    _ => return Err("STACK_GLOBAL needs two strings".into()),
                }
            }
            b'c' => {
                let module = self.line()?;
                let name = self.line()?;
                Value::Global(module, name)
            }
            b'R' => {
                let args = self.pop()?;
                let callable = self.pop()?;
                reduce(callable, args)?
            }
            _ => {
                // BUILD: a dtype's state (byte order '<' etc.); little-endian assumed.
                self.pop()?;
                return Ok(());
            }
        };
        self.stack.push(value);
        Ok(())
    }

    /// One newline-terminated line (GLOBAL's module and name).
    fn line(&mut self) -> Result<String, String> {
        let rest = &self.data[self.at..];
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or("unterminated GLOBAL")?;
        let s = String::from_utf8_lossy(&rest[..end]).into_owned();
        self.at += end + 1;
        Ok(s)
    }

    /// SETITEM(S) into the dict and APPEND(S) into the list below.
    fn fill_op(&mut self, op: u8) -> Result<(), String> {
        match op {
            b's' | b'u' => {
                let items = if op == b's' {
                    let value = self.pop()?;
                    let key = self.pop()?;
                    vec![key, value]
                } else {
                    self.pop_mark()?
                };
                match self.stack.last_mut() {
                    Some(Value::Dict(dict)) => {
                        let mut items = items.into_iter();
                        while let (Some(k), Some(v)) = (items.next(), items.next()) {
                            dict.push((k, v));
                        }
                    }
                    _ => {
                        let name = if op == b's' { "SETITEM" } else { "SETITEMS" };
                        return Err(format!("{name} outside a dict"));
                    }
                }
            }
            _ => {
                let items = if op == b'a' {
                    vec![self.pop()?]
                } else {
                    self.pop_mark()?
                };
                match self.stack.last_mut() {
                    Some(Value::List(list)) => list.extend(items),
                    _ => return Err("APPEND outside a list".into()),
                }
            }
        }
        Ok(())
    }
}

/// The two callables of numpy scalar pickles.
fn reduce(callable: Value, args: Value) -> Result<Value, String> {
    let Value::Tuple(args) = args else {
        return Err("REDUCE arguments are not a tuple".into());
    };
    match callable {
        Value::Global(module, name) if module.starts_with("numpy") && name == "dtype" => {
            match args.first() {
                Some(Value::Str(code)) => Ok(Value::Dtype(code.clone())),
                _ => Err("numpy.dtype without a type code".into()),
            }
        }
        Value::Global(module, name) if module.starts_with("numpy") && name == "scalar" => {
            match args.as_slice() {
                [Value::Dtype(code), Value::Bytes(raw), ..] => scalar(code, raw),
                _ => Err("numpy scalar without dtype and bytes".into()),
            }
        }
        Value::Global(module, name) => Err(format!("unsupported callable {module}.{name}")),
        other => Err(format!("cannot call {other:?}")),
    }
}

fn scalar(code: &str, raw: &[u8]) -> Result<Value, String> {
    let bytes = |n: usize| -> Result<&[u8], String> {
        raw.get(..n)
            .ok_or_else(|| format!("{code} scalar with {} bytes", raw.len()))
    };
    Ok(match code {
        "f8" => Value::Float(f64::from_le_bytes(array(bytes(8)?))),
        "f4" => Value::Float(f32::from_le_bytes(array(bytes(4)?)) as f64),
        "i8" => Value::Int(i64::from_le_bytes(array(bytes(8)?))),
        "i4" => Value::Int(i32::from_le_bytes(array(bytes(4)?)) as i64),
        "u1" | "i1" => Value::Int(bytes(1)?[0] as i64),
        other => return Err(format!("unsupported numpy dtype '{other}'")),
    })
}

/// A spacing value with the numpy dtype the original stores it as.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NumpyScalar {
    F32(f32),
    F64(f64),
}

impl NumpyScalar {
    pub fn value(self) -> f64 {
        match self {
            NumpyScalar::F32(v) => v as f64,
            NumpyScalar::F64(v) => v,
        }
    }
}

/// Writes `{name: (numpy scalars...)}` as the original's spacing pickles hold it (protocol 4,
/// `numpy.core.multiarray.scalar` objects), atomically. Python with numpy reads it back as
/// `pickle.load` of the original's files; [`read_spacing_pickle`] reads it too.
pub fn write_spacing_pickle(
    path: &Path,
    entries: &BTreeMap<String, Vec<NumpyScalar>>,
) -> Result<(), FileError> {
    let bytes = pickle_spacing(entries);
    crate::write_atomically(path, |out| out.write_all(&bytes))
}

fn pickle_spacing(entries: &BTreeMap<String, Vec<NumpyScalar>>) -> Vec<u8> {
    fn text(out: &mut Vec<u8>, s: &str) {
        if s.len() < 256 {
            out.push(0x8c); // SHORT_BINUNICODE
            out.push(s.len() as u8);
        } else {
            out.push(b'X'); // BINUNICODE
            out.extend_from_slice(&(s.len() as u32).to_le_bytes());
        }
        out.extend_from_slice(s.as_bytes());
    }
    fn global(out: &mut Vec<u8>, module: &str, name: &str) {
        text(out, module);
        text(out, name);
        out.push(0x93); // STACK_GLOBAL
    }
    fn scalar(out: &mut Vec<u8>, value: NumpyScalar) {
        let (code, raw) = match value {
            NumpyScalar::F32(v) => ("f4", v.to_le_bytes().to_vec()),
            NumpyScalar::F64(v) => ("f8", v.to_le_bytes().to_vec()),
        };
        global(out, "numpy.core.multiarray", "scalar");
        // numpy.dtype(code, False, True) with its state (3, '<', None, None, None, -1, -1, 0).
        global(out, "numpy", "dtype");
        text(out, code);
        out.extend_from_slice(&[0x89, 0x88, 0x87, b'R', b'(', b'K', 3]);
        text(out, "<");
        out.extend_from_slice(b"NNN");
        out.extend_from_slice(&[b'J', 0xff, 0xff, 0xff, 0xff, b'J', 0xff, 0xff, 0xff, 0xff]);
        out.extend_from_slice(&[b'K', 0, b't', b'b']);
        out.push(b'C'); // SHORT_BINBYTES
        out.push(raw.len() as u8);
        out.extend_from_slice(&raw);
        out.extend_from_slice(&[0x86, b'R']); // TUPLE2, REDUCE
    }
    let mut out = vec![0x80, 4, b'}']; // PROTO 4, EMPTY_DICT
    if !entries.is_empty() {
        out.push(b'(');
        for (key, values) in entries {
            text(&mut out, key);
            out.push(b'(');
            for &v in values {
                scalar(&mut out, v);
            }
            out.push(b't');
        }
        out.push(b'u'); // SETITEMS
    }
    out.push(b'.');
    out
}
