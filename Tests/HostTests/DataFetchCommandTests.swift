import Foundation
import Testing

/// `cil data fetch cifar100` against a local HTTP server (127.0.0.1) serving a small
/// archive in the official layout: a good download, a checksum mismatch, server
/// errors and a cut-off download, each leaving nothing half-written behind.
@Suite("cil data fetch", .serialized)
struct DataFetchCommandTests {
    /// A served directory holding `c.tar.gz` (cifar-100-binary/ with the 4 files).
    final class Site {
        let root: String
        let server: LocalHTTPServer
        let md5: String

        init() throws {
            root = try DataFixtures.temporaryDirectory("cil-fetch-site")
            let src = root + "/src"
            try DataFixtures.cifarFolder(in: src, train: (0 ..< 200).map { $0 % 100 }, test: Array(0 ..< 100))
            try FileManager.default.createDirectory(atPath: root + "/www", withIntermediateDirectories: true)
            try DataFixtures.tar(root + "/www/c.tar.gz", in: src, ["cifar-100-binary"])
            // An archive without the expected folder.
            try DataFixtures.write(Array("hello".utf8), to: src + "/other/readme.txt")
            try DataFixtures.tar(root + "/www/wrong.tar.gz", in: src, ["other"])
            md5 = try DataFixtures.md5sum(root + "/www/c.tar.gz")
            server = try LocalHTTPServer(directory: root + "/www")
        }

        deinit { try? FileManager.default.removeItem(atPath: root) }
    }

    static func fetch(_ site: Site, path: String, to target: String, checksum: String? = nil, extra: [String] = []) throws -> CommandRunner.Output {
        try CommandRunner.run(["data", "fetch", "cifar100", "--to", target, "--url", site.server.url(path),
                               "--checksum", checksum ?? "md5:\(site.md5)"] + extra)
    }

    @Test func goodDownloadIsVerifiedUnpackedAndInPlace() throws {
        let site = try Site()
        let target = site.root + "/data"
        let out = try Self.fetch(site, path: "c.tar.gz", to: target)
        #expect(out.status == 0, "stderr: \(out.stderr)")
        #expect(out.stdout.contains("cifar100: ready at \(target)/cifar-100-binary (200 train, 100 test images)"))
        #expect(out.stderr.contains("md5 verified"))
        #expect(out.stderr.contains("100%"))                       // progress
        #expect(DataFixtures.contents(target) == ["cifar-100-binary"])
        #expect(DataFixtures.contents(target + "/cifar-100-binary") ==
                ["coarse_label_names.txt", "fine_label_names.txt", "test.bin", "train.bin"])
        // The data it fetched passes `cil data check`.
        let check = try CommandRunner.run(["data", "check", "--dataset", "cifar100", "--data-dir", target, "--json"])
        #expect(check.status == 0, "stderr: \(check.stderr)")
        // Again: already present, nothing downloaded.
        let again = try Self.fetch(site, path: "c.tar.gz", to: target)
        #expect(again.status == 0 && again.stdout.contains("already present"))
        // --force with a wrong checksum keeps the existing folder untouched.
        let forced = try Self.fetch(site, path: "c.tar.gz", to: target, checksum: "md5:" + String(repeating: "0", count: 32), extra: ["--force"])
        #expect(forced.status != 0)
        #expect(DataFixtures.contents(target) == ["cifar-100-binary"])
        // --force --keep-archive replaces it and keeps the archive.
        let replaced = try Self.fetch(site, path: "c.tar.gz", to: target, extra: ["--force", "--keep-archive"])
        #expect(replaced.status == 0, "stderr: \(replaced.stderr)")
        #expect(DataFixtures.contents(target) == ["cifar-100-binary", "cifar-100-binary.tar.gz"])
    }

    @Test func checksumMismatchLeavesNothing() throws {
        let site = try Site()
        let target = site.root + "/data"
        let out = try Self.fetch(site, path: "c.tar.gz", to: target, checksum: "md5:" + String(repeating: "0", count: 32))
        #expect(out.status != 0)
        #expect(out.stderr.contains("checksum mismatch") && out.stderr.contains("md5:\(site.md5)"))
        #expect(DataFixtures.contents(target).isEmpty)
        // A SHA-256 checksum is accepted too (and also mismatches here).
        let sha = try Self.fetch(site, path: "c.tar.gz", to: target, checksum: "sha256:" + String(repeating: "a", count: 64))
        #expect(sha.status != 0 && sha.stderr.contains("sha256:"))
        #expect(DataFixtures.contents(target).isEmpty)
    }

    @Test(arguments: [("error", "HTTP 500"), ("missing.tar.gz", "HTTP 404"), ("truncated", "ended after 1000 of 100000 bytes")])
    func serverErrorsLeaveNothing(path: String, message: String) throws {
        let site = try Site()
        let target = site.root + "/data"
        let out = try Self.fetch(site, path: path, to: target)
        #expect(out.status != 0)
        #expect(out.stderr.contains(message), "stderr: \(out.stderr)")
        #expect(DataFixtures.contents(target).isEmpty)
    }

    @Test func anArchiveWithoutTheFolderIsRejected() throws {
        let site = try Site()
        let target = site.root + "/data"
        let md5 = try DataFixtures.md5sum(site.root + "/www/wrong.tar.gz")
        let out = try Self.fetch(site, path: "wrong.tar.gz", to: target, checksum: "md5:\(md5)")
        #expect(out.status != 0)
        #expect(out.stderr.contains("holds no cifar-100-binary/ folder"))
        #expect(DataFixtures.contents(target).isEmpty)
    }

    @Test func environmentOverridesAndBadInput() throws {
        let site = try Site()
        let target = site.root + "/env"
        let out = try CommandRunner.run(["data", "fetch", "cifar100", "--to", target],
                                        environment: ["CIL_CIFAR100_URL": site.server.url("c.tar.gz"), "CIL_CIFAR100_CHECKSUM": "md5:\(site.md5)"])
        #expect(out.status == 0, "stderr: \(out.stderr)")
        let bad = try CommandRunner.run(["data", "fetch", "cifar100", "--to", target, "--checksum", "md5:xyz"])
        #expect(bad.status != 0 && bad.stderr.contains("--checksum") && bad.stderr.contains("md5:<32 hex digits>"))
        let other = try CommandRunner.run(["data", "fetch", "imagenet"])
        #expect(other.status != 0 && other.stderr.contains("only cifar100"))
        let url = try CommandRunner.run(["data", "fetch", "cifar100", "--url", "ftp://x/y"])
        #expect(url.status != 0 && url.stderr.contains("--url"))
        // Nothing listens on this port any more: connection refused.
        let closedPort = site.server.port
        site.server.stop()
        let refused = try CommandRunner.run(["data", "fetch", "cifar100", "--to", site.root + "/refused",
                                             "--url", "http://127.0.0.1:\(closedPort)/c.tar.gz", "--checksum", "md5:\(site.md5)"])
        #expect(refused.status != 0 && refused.stderr.contains("failed"))
        #expect(DataFixtures.contents(site.root + "/refused").isEmpty)
    }

    @Test func helpNamesTheSourceAndChecksum() throws {
        let out = try CommandRunner.run(["data", "fetch", "--help"])
        #expect(out.stdout.contains("cifar-100-binary.tar.gz") && out.stdout.contains("03b5dce01913d631647c71ecec9e9cb8"))
    }
}
