import CILSDK
import Testing

/// MD5 and SHA-256 against RFC 1321 / FIPS 180 examples, across block boundaries.
@Suite("Checksums")
struct ChecksumTests {
    @Test func md5KnownAnswers() {
        #expect(Checksum.compute(.md5, of: []) == "d41d8cd98f00b204e9800998ecf8427e")
        #expect(Checksum.compute(.md5, of: Array("abc".utf8)) == "900150983cd24fb0d6963f7d28e17f72")
        #expect(Checksum.compute(.md5, of: Array("12345678901234567890123456789012345678901234567890123456789012345678901234567890".utf8))
                == "57edf4a22be3c955ac49da2e2107b67a")
    }

    @Test func sha256KnownAnswers() {
        #expect(Checksum.compute(.sha256, of: []) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Checksum.compute(.sha256, of: Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Checksum.compute(.sha256, of: Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    @Test func streamingEqualsOneShot() {
        let bytes = (0 ..< 1000).map { UInt8(truncatingIfNeeded: $0 * 31 + 7) }
        for algorithm in [Checksum.Algorithm.md5, .sha256] {
            var d = algorithm.makeDigest()
            var start = 0
            for size in [1, 63, 64, 65, 0, 200, 7] + [Int](repeating: 100, count: 6) where start < bytes.count {
                let end = min(bytes.count, start + size)
                bytes[start ..< end].withUnsafeBytes { d.update($0) }
                start = end
            }
            bytes[start...].withUnsafeBytes { d.update($0) }
            #expect(Checksum.hex(d.finalize()) == Checksum.compute(algorithm, of: bytes))
        }
    }

    @Test func parsesChecksumStrings() {
        #expect(Checksum("md5:03B5DCE01913D631647C71ECEC9E9CB8")?.hex == "03b5dce01913d631647c71ecec9e9cb8")
        #expect(Checksum("sha256:abc") == nil)
        #expect(Checksum("crc:00") == nil)
        #expect(Checksum("03b5dce01913d631647c71ecec9e9cb8") == nil)
    }
}
