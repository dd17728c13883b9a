//! Leaf helpers shared by every stage; they import nothing of the crate.
//!
//! One implementation each: JSON pointers ([`pointer`]), compact JSON text ([`json_text`]),
//! stable hashing and hex ([`hash`]), RFC 3339 time ([`time`]), `{{…}}` templates
//! ([`template`]) and message shortening ([`text`]).

pub mod hash;
pub mod json_text;
pub mod pointer;
pub mod template;
pub mod text;
pub mod time;
