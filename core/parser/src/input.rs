//! Plain, gzip and zip inputs, recognised by their first bytes rather than their names.
//!
//! Everything streams: gzip is decoded on the fly, and zip entries are read from the
//! local headers in order, so an HTTP upload body never has to be stored first.

use std::io::{self, BufRead, BufReader, Read};

/// How a stream is packed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packing {
    Plain,
    Gzip,
    Zip,
}

/// Recognises gzip (`1f 8b`) and zip (`PK\x03\x04`) by their magic bytes.
pub fn sniff(prefix: &[u8]) -> Packing {
    if prefix.starts_with(&[0x1f, 0x8b]) {
        Packing::Gzip
    } else if prefix.starts_with(b"PK\x03\x04") {
        Packing::Zip
    } else {
        Packing::Plain
    }
}

/// Why an input could not be unpacked.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("reading the input failed: {0}")]
    Io(#[from] io::Error),
    #[error("the zip archive is damaged: {0}")]
    Zip(#[from] zip::result::ZipError),
    #[error("the zip archive holds no .txt combat log")]
    EmptyZip,
}

/// Calls `visit` once for each combat log in `reader`: the stream itself, its gzip
/// content, or every `.txt` file of a zip archive (with the entry's name).
pub fn for_each_log<R, F, E>(reader: R, mut visit: F) -> Result<Packing, E>
where
    R: Read,
    F: FnMut(Option<&str>, &mut dyn BufRead) -> Result<(), E>,
    E: From<InputError>,
{
    let mut reader = BufReader::with_capacity(256 * 1024, reader);
    let packing = sniff(reader.fill_buf().map_err(InputError::from)?);
    match packing {
        Packing::Plain => visit(None, &mut reader)?,
        Packing::Gzip => {
            let decoder = flate2::bufread::MultiGzDecoder::new(reader);
            visit(None, &mut BufReader::with_capacity(256 * 1024, decoder))?;
        }
        Packing::Zip => {
            let mut logs = 0;
            while let Some(mut entry) =
                zip::read::read_zipfile_from_stream(&mut reader).map_err(InputError::from)?
            {
                let name = entry.name().map_err(InputError::from)?.into_owned();
                if entry.is_dir() || !name.to_ascii_lowercase().ends_with(".txt") {
                    io::copy(&mut entry, &mut io::sink()).map_err(InputError::from)?;
                    continue;
                }
                logs += 1;
                visit(Some(&name), &mut BufReader::with_capacity(256 * 1024, &mut entry))?;
            }
            if logs == 0 {
                return Err(InputError::EmptyZip.into());
            }
        }
    }
    Ok(packing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{Compression, write::GzEncoder};
    use std::io::Write;

    fn collect(input: &[u8]) -> Result<Vec<(Option<String>, String)>, InputError> {
        let mut out = Vec::new();
        for_each_log(input, |name, r: &mut dyn BufRead| -> Result<(), InputError> {
            let mut text = String::new();
            r.read_to_string(&mut text)?;
            out.push((name.map(str::to_string), text));
            Ok(())
        })?;
        Ok(out)
    }

    #[test]
    fn plain_text_passes_through() {
        assert_eq!(collect(b"1/1 00:00:00.000  X\n").unwrap(), vec![(None, "1/1 00:00:00.000  X\n".into())]);
    }

    #[test]
    fn gzip_is_decoded() {
        let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
        gz.write_all(b"hello log\n").unwrap();
        assert_eq!(collect(&gz.finish().unwrap()).unwrap(), vec![(None, "hello log\n".into())]);
    }

    #[test]
    fn zip_yields_each_txt_entry_and_skips_the_rest() {
        let mut buf = io::Cursor::new(Vec::new());
        {
            let mut zip = zip::ZipWriter::new(&mut buf);
            let options = zip::write::SimpleFileOptions::default();
            zip.start_file("Logs/WoWCombatLog-1.txt", options).unwrap();
            zip.write_all(b"first\n").unwrap();
            zip.start_file("readme.md", options).unwrap();
            zip.write_all(b"ignored").unwrap();
            zip.start_file("WoWCombatLog-2.TXT", options).unwrap();
            zip.write_all(b"second\n").unwrap();
            zip.finish().unwrap();
        }
        assert_eq!(
            collect(buf.get_ref()).unwrap(),
            vec![
                (Some("Logs/WoWCombatLog-1.txt".into()), "first\n".into()),
                (Some("WoWCombatLog-2.TXT".into()), "second\n".into()),
            ]
        );
    }

    #[test]
    fn a_zip_without_logs_is_an_error() {
        let mut buf = io::Cursor::new(Vec::new());
        {
            let mut zip = zip::ZipWriter::new(&mut buf);
            zip.start_file("image.png", zip::write::SimpleFileOptions::default()).unwrap();
            zip.write_all(b"\x89PNG").unwrap();
            zip.finish().unwrap();
        }
        assert!(matches!(collect(buf.get_ref()), Err(InputError::EmptyZip)));
    }
}
