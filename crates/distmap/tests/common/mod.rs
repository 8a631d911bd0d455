pub mod brute;
