//! Percent-encoding for URL components.

/// Every byte but RFC 3986's unreserved characters (ASCII letters, digits and `-_.~`)
/// as `%XX`: safe in a path segment or a query value. It is also Grafana's
/// `percentencode` variable format (`encodeURIComponentStrict`).
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(byte as char),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_unreserved_characters_stay() {
        assert_eq!(percent_encode("Guild 42"), "Guild%2042");
        assert_eq!(percent_encode("a-b_c.d~e"), "a-b_c.d~e");
        assert_eq!(percent_encode("Kel'Thuzad\\\"%"), "Kel%27Thuzad%5C%22%25");
        assert_eq!(percent_encode("é"), "%C3%A9");
    }
}
