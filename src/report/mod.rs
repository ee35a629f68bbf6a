//! Output: terminal tables, JSON and CSV files, written atomically.

pub mod atomic;
pub mod csv_out;
pub mod table;
