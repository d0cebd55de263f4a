//! The smallest zip that every unzip tool reads: entries *stored* (not compressed — the
//! images in a history export are PNG or JPEG already), CRC-32 checked, no zip64. Building
//! and reading are pure functions over bytes, so the page and native tests share them.

/// One file in a zip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZipEntry {
    pub name: String,
    pub data: Vec<u8>,
}

/// Why bytes could not be read as a zip this module understands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZipError {
    #[error("the file is not a zip archive")]
    NotAZip,
    #[error("the zip archive is cut short or damaged")]
    Truncated,
    #[error(
        "“{0}” in the zip archive is compressed; only archives exported by flexedit can be imported"
    )]
    Compressed(String),
    #[error("“{0}” in the zip archive is damaged (its checksum does not match)")]
    Checksum(String),
    #[error("“{0}” is not an acceptable file name inside the archive")]
    BadName(String),
    #[error("the archive is too large for the zip format used here (over 4 GB or 65,535 files)")]
    TooLarge,
}

const LOCAL_HEADER: u32 = 0x0403_4b50;
const CENTRAL_HEADER: u32 = 0x0201_4b50;
const END_OF_DIRECTORY: u32 = 0x0605_4b50;
/// Bit 11: names are UTF-8.
const UTF8_NAMES: u16 = 0x0800;
/// Version 2.0: what a stored entry needs.
const VERSION: u16 = 20;
/// 1980-01-01 00:00 in DOS format: the zip epoch. Entries carry no meaningful time.
const DOS_DATE: u16 = (1 << 5) | 1;

const fn crc_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut n = 0;
    while n < 256 {
        let mut c = n as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[n] = c;
        n += 1;
    }
    table
}

static CRC_TABLE: [u32; 256] = crc_table();

/// CRC-32 (IEEE 802.3), as zip, PNG and gzip use it.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in bytes {
        crc = CRC_TABLE[((crc ^ u32::from(byte)) & 0xFF) as usize] ^ (crc >> 8);
    }
    !crc
}

/// A name is a relative path of plain parts: no absolute paths, no `..`, no backslashes,
/// so an archive can never write outside the folder it is unpacked into.
pub fn is_safe_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= u16::MAX as usize
        && !name.starts_with('/')
        && !name.contains('\\')
        && !name.contains('\0')
        && name.split('/').all(|part| !part.is_empty() && part != "..")
}

fn put16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// Builds a zip of `entries`, each stored as it is.
pub fn write_zip(entries: &[ZipEntry]) -> Result<Vec<u8>, ZipError> {
    let count = u16::try_from(entries.len()).map_err(|_| ZipError::TooLarge)?;
    let mut out = Vec::with_capacity(
        entries
            .iter()
            .map(|e| e.data.len() + 2 * e.name.len() + 76)
            .sum::<usize>()
            + 22,
    );
    let mut directory = Vec::new();
    for entry in entries {
        if !is_safe_name(&entry.name) {
            return Err(ZipError::BadName(entry.name.clone()));
        }
        let offset = u32::try_from(out.len()).map_err(|_| ZipError::TooLarge)?;
        let size = u32::try_from(entry.data.len()).map_err(|_| ZipError::TooLarge)?;
        let name_len = entry.name.len() as u16;
        let crc = crc32(&entry.data);

        put32(&mut out, LOCAL_HEADER);
        for v in [VERSION, UTF8_NAMES, 0, 0, DOS_DATE] {
            put16(&mut out, v);
        }
        for v in [crc, size, size] {
            put32(&mut out, v);
        }
        put16(&mut out, name_len);
        put16(&mut out, 0);
        out.extend_from_slice(entry.name.as_bytes());
        out.extend_from_slice(&entry.data);

        put32(&mut directory, CENTRAL_HEADER);
        for v in [VERSION, VERSION, UTF8_NAMES, 0, 0, DOS_DATE] {
            put16(&mut directory, v);
        }
        for v in [crc, size, size] {
            put32(&mut directory, v);
        }
        for v in [name_len, 0, 0, 0, 0] {
            put16(&mut directory, v);
        }
        put32(&mut directory, 0);
        put32(&mut directory, offset);
        directory.extend_from_slice(entry.name.as_bytes());
    }
    let directory_offset = u32::try_from(out.len()).map_err(|_| ZipError::TooLarge)?;
    let directory_size = u32::try_from(directory.len()).map_err(|_| ZipError::TooLarge)?;
    out.extend_from_slice(&directory);
    put32(&mut out, END_OF_DIRECTORY);
    for v in [0, 0, count, count] {
        put16(&mut out, v);
    }
    put32(&mut out, directory_size);
    put32(&mut out, directory_offset);
    put16(&mut out, 0);
    u32::try_from(out.len()).map_err(|_| ZipError::TooLarge)?;
    Ok(out)
}

fn get16(bytes: &[u8], at: usize) -> Result<u16, ZipError> {
    bytes
        .get(at..at.checked_add(2).ok_or(ZipError::Truncated)?)
        .and_then(|b| b.try_into().ok())
        .map(u16::from_le_bytes)
        .ok_or(ZipError::Truncated)
}

fn get32(bytes: &[u8], at: usize) -> Result<u32, ZipError> {
    bytes
        .get(at..at.checked_add(4).ok_or(ZipError::Truncated)?)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_le_bytes)
        .ok_or(ZipError::Truncated)
}

fn slice(bytes: &[u8], at: usize, len: usize) -> Result<&[u8], ZipError> {
    bytes
        .get(at..at.checked_add(len).ok_or(ZipError::Truncated)?)
        .ok_or(ZipError::Truncated)
}

/// Reads every entry of a stored zip through its central directory, checking each CRC.
pub fn read_zip(bytes: &[u8]) -> Result<Vec<ZipEntry>, ZipError> {
    if bytes.len() < 22 {
        return Err(ZipError::NotAZip);
    }
    // The end record is the last 22 bytes, unless a comment (up to 64 KB) follows it.
    let lowest = bytes.len().saturating_sub(22 + u16::MAX as usize);
    let end = (lowest..=bytes.len() - 22)
        .rev()
        .find(|&at| get32(bytes, at) == Ok(END_OF_DIRECTORY))
        .ok_or(ZipError::NotAZip)?;
    let count = usize::from(get16(bytes, end + 10)?);
    let mut at = get32(bytes, end + 16)? as usize;
    let mut entries = Vec::with_capacity(count.min(1024));
    for _ in 0..count {
        if get32(bytes, at)? != CENTRAL_HEADER {
            return Err(ZipError::Truncated);
        }
        let method = get16(bytes, at + 10)?;
        let crc = get32(bytes, at + 16)?;
        let compressed = get32(bytes, at + 20)? as usize;
        let size = get32(bytes, at + 24)? as usize;
        let name_len = usize::from(get16(bytes, at + 28)?);
        let extra_len = usize::from(get16(bytes, at + 30)?);
        let comment_len = usize::from(get16(bytes, at + 32)?);
        let local = get32(bytes, at + 42)? as usize;
        let name = String::from_utf8_lossy(slice(bytes, at + 46, name_len)?).into_owned();
        at += 46 + name_len + extra_len + comment_len;

        if name.ends_with('/') {
            continue; // a folder entry: nothing to read
        }
        if !is_safe_name(&name) {
            return Err(ZipError::BadName(name));
        }
        if method != 0 || compressed != size {
            return Err(ZipError::Compressed(name));
        }
        if get32(bytes, local)? != LOCAL_HEADER {
            return Err(ZipError::Truncated);
        }
        let local_name = usize::from(get16(bytes, local + 26)?);
        let local_extra = usize::from(get16(bytes, local + 28)?);
        let data = slice(bytes, local + 30 + local_name + local_extra, size)?;
        if crc32(data) != crc {
            return Err(ZipError::Checksum(name));
        }
        entries.push(ZipEntry {
            name,
            data: data.to_vec(),
        });
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, data: &[u8]) -> ZipEntry {
        ZipEntry {
            name: name.into(),
            data: data.to_vec(),
        }
    }

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn a_written_zip_reads_back_identically() {
        let entries = vec![
            entry("manifest.json", br#"{"format":1}"#),
            entry(
                "images/a-source.png",
                &[0x89, b'P', b'N', b'G', 0, 1, 2, 255],
            ),
            entry("images/empty.bin", b""),
        ];
        let zip = write_zip(&entries).unwrap();
        assert_eq!(&zip[..4], b"PK\x03\x04");
        assert_eq!(read_zip(&zip).unwrap(), entries);
    }

    #[test]
    fn an_empty_zip_is_22_bytes_and_reads_as_empty() {
        let zip = write_zip(&[]).unwrap();
        assert_eq!(zip.len(), 22);
        assert_eq!(read_zip(&zip).unwrap(), vec![]);
    }

    #[test]
    fn a_trailing_comment_is_skipped() {
        let mut zip = write_zip(&[entry("a.txt", b"hello")]).unwrap();
        let len = zip.len();
        zip[len - 2..].copy_from_slice(&7u16.to_le_bytes());
        zip.extend_from_slice(b"comment");
        assert_eq!(read_zip(&zip).unwrap(), vec![entry("a.txt", b"hello")]);
    }

    #[test]
    fn damage_is_reported_not_panicked_on() {
        let zip = write_zip(&[entry("a.txt", b"hello world")]).unwrap();
        // Flip one byte of the data: the checksum catches it.
        let mut flipped = zip.clone();
        flipped[30 + 5] ^= 0xFF;
        assert_eq!(read_zip(&flipped), Err(ZipError::Checksum("a.txt".into())));
        // Every prefix is refused cleanly.
        for cut in 0..zip.len() {
            assert!(read_zip(&zip[..cut]).is_err(), "cut at {cut}");
        }
        assert_eq!(
            read_zip(b"not a zip at all, not at all!"),
            Err(ZipError::NotAZip)
        );
    }

    #[test]
    fn compressed_entries_are_refused_with_their_name() {
        let mut zip = write_zip(&[entry("a.txt", b"hello")]).unwrap();
        // Central directory method field: offset of the directory + 10.
        let directory = u32::from_le_bytes(zip[zip.len() - 6..zip.len() - 2].try_into().unwrap());
        zip[directory as usize + 10] = 8;
        assert_eq!(read_zip(&zip), Err(ZipError::Compressed("a.txt".into())));
    }

    #[test]
    fn unsafe_names_are_refused_both_ways() {
        for name in ["../evil", "/etc/passwd", "a/../../b", "a\\b", ""] {
            assert!(!is_safe_name(name), "{name}");
            assert_eq!(
                write_zip(&[entry(name, b"x")]),
                Err(ZipError::BadName(name.into()))
            );
        }
        assert!(is_safe_name("images/0123-source.png"));
    }
}
