//! Leaf helpers shared by every stage; they import nothing of the crate.

pub mod pointer;
