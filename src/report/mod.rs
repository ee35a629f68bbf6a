//! Output: terminal tables, JSON and CSV files, written atomically.

pub mod atomic;
pub mod compare_table;
pub mod csv_out;
pub mod race_report;
pub mod table;
pub mod test_report;
