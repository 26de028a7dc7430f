//! Text bounds: where a log's free text (names, file names) is cut before it is kept
//! or sent, so that no crafted log makes a row, a record or an answer as long as itself.

/// `text` up to its first `max` characters, cut on a character boundary.
pub fn cut_chars(text: &str, max: usize) -> &str {
    // No more bytes than `max`: no more characters either (the common case, uncounted).
    if text.len() <= max {
        return text;
    }
    match text.char_indices().nth(max) {
        Some((at, _)) => &text[..at],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_kept_whole_up_to_the_bound_and_cut_on_a_character_boundary() {
        assert_eq!(cut_chars("Thrall-Draenor", 64), "Thrall-Draenor");
        assert_eq!(cut_chars("Thrall", 6), "Thrall");
        assert_eq!(cut_chars("Thrall", 3), "Thr");
        assert_eq!(cut_chars("ééé", 2), "éé");
        assert_eq!(cut_chars("", 2), "");
    }
}
