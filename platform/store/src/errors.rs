//! Which ClickHouse errors are worth retrying. A consumer that retries an error that
//! can never succeed has turned one bad row into an outage for every guild; one that
//! gives up on a passing error loses rows. So: errors caused by the rows themselves are
//! permanent (the rows are isolated and dead-lettered), everything else (the network,
//! timeouts, overload, a missing table an operator must fix) is retried. The codes are
//! ClickHouse's own (`src/Common/ErrorCodes.cpp`).

/// How to treat a failed statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Try the same statement again later: nothing about its data is wrong.
    Retryable,
    /// The data is refused and will be refused again: isolate the offending rows.
    Permanent,
}

/// Codes for which the rows themselves are at fault. Not among them, though they sound
/// like data: 33 (CANNOT_READ_ALL_DATA) is what a body cut off on the way gives, and
/// 36 (BAD_ARGUMENTS) is mostly a setting an operator must fix (18.16's refusal of an
/// unknown enum value, also 36, is told by its message): classed permanent, each would
/// dead-letter good rows one by one.
const PERMANENT_CODES: &[u32] = &[
    6,   // CANNOT_PARSE_TEXT
    27,  // CANNOT_PARSE_INPUT_ASSERTION_FAILED
    38,  // CANNOT_PARSE_DATE
    41,  // CANNOT_PARSE_DATETIME
    53,  // TYPE_MISMATCH
    69,  // ARGUMENT_OUT_OF_BOUND
    70,  // CANNOT_CONVERT_TYPE
    72,  // CANNOT_PARSE_NUMBER
    117, // INCORRECT_DATA
    131, // TOO_LARGE_STRING_SIZE
    349, // CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN
    395, // FUNCTION_THROW_IF_VALUE_IS_NON_ZERO (a check written with throwIf)
    469, // VIOLATED_CONSTRAINT
    691, // UNKNOWN_ELEMENT_OF_ENUM
];

/// The class of an error of the `clickhouse` client.
pub fn classify(error: &clickhouse::error::Error) -> ErrorClass {
    use clickhouse::error::Error;
    match error {
        Error::BadResponse(message) => classify_response(message),
        // The client could not serialize a row: it never will.
        Error::Custom(_) | Error::SequenceMustHaveLength | Error::InvalidUtf8Encoding(_) => {
            ErrorClass::Permanent
        }
        _ => ErrorClass::Retryable,
    }
}

/// The class of a server's error message (`Code: 252. DB::Exception: …`).
pub fn classify_response(message: &str) -> ErrorClass {
    // One INSERT touching more partitions than `max_partitions_per_insert_block` is
    // refused whatever the server's load: the batch must be split (code 252 is also
    // TOO_MANY_PARTS, which is load, and retryable).
    if message.contains("Too many partitions for single INSERT block") {
        return ErrorClass::Permanent;
    }
    // 18.16 refuses an unknown Enum8 value without a dedicated code.
    if message.contains("Unexpected value") && message.contains("Enum") {
        return ErrorClass::Permanent;
    }
    match code(message) {
        Some(code) if PERMANENT_CODES.contains(&code) => ErrorClass::Permanent,
        _ => ErrorClass::Retryable,
    }
}

/// The error code of a server message.
fn code(message: &str) -> Option<u32> {
    let rest = &message[message.find("Code: ")? + 6..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_errors_are_permanent_and_load_is_retried() {
        let permanent = [
            "Code: 252. DB::Exception: Too many partitions for single INSERT block (more than 100).",
            "Code: 53. DB::Exception: Type mismatch in IN or VALUES section.",
            "Code: 36, e.displayText() = DB::Exception: Unexpected value 9 for type Enum8('a' = 1)",
            "Code: 469. DB::Exception: Constraint `plausible` for table wowlogs.encounters is violated.",
        ];
        for message in permanent {
            assert_eq!(classify_response(message), ErrorClass::Permanent, "{message}");
        }
        let retryable = [
            "Code: 252. DB::Exception: Too many parts (300). Merges are processing significantly slower than inserts",
            "Code: 202. DB::Exception: Too many simultaneous queries. Maximum: 100.",
            "Code: 241. DB::Exception: Memory limit (for query) exceeded",
            "Code: 60. DB::Exception: Table wowlogs.encounters doesn't exist.",
            "Code: 33. DB::Exception: Cannot read all data. Bytes read: 12. Bytes expected: 40.",
            "Code: 36. DB::Exception: Setting max_threads shouldn't be zero",
            "an answer without a code",
        ];
        for message in retryable {
            assert_eq!(classify_response(message), ErrorClass::Retryable, "{message}");
        }
        assert_eq!(classify(&clickhouse::error::Error::TimedOut), ErrorClass::Retryable);
    }
}
