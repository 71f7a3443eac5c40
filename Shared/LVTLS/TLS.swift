import LVRPC
import NIOConcurrencyHelpers
import NIOCore
import NIOSSL
#if canImport(Glibc)
import Glibc
#endif

/// TLS under the unchanged frame protocol (docs/SECURITY.md, "TLS"): the server's certificate and
/// key from PEM files, optionally requiring client certificates signed by a CA file (mTLS).
/// `reload()` reads the files again (SIGHUP); connections accepted afterwards use the new ones,
/// open connections keep theirs.
public final class TLSServer: Sendable {
    public let certificatePath: String
    public let keyPath: String
    /// When set, clients must present a certificate signed by this CA (mTLS).
    public let clientCAPath: String?
    private let context: NIOLockedValueBox<NIOSSLContext>

    public init(certificate: String, key: String, clientCA: String? = nil) throws {
        self.certificatePath = certificate
        self.keyPath = key
        self.clientCAPath = clientCA
        self.context = NIOLockedValueBox(try Self.makeContext(certificate: certificate, key: key, clientCA: clientCA))
    }

    static func makeContext(certificate: String, key: String, clientCA: String?) throws -> NIOSSLContext {
        let chain: [NIOSSLCertificate]
        let privateKey: NIOSSLPrivateKey
        do { chain = try NIOSSLCertificate.fromPEMFile(certificate) } catch {
            throw TLSFileError(path: certificate, what: "certificate (PEM)", underlying: error)
        }
        guard !chain.isEmpty else { throw TLSFileError(path: certificate, what: "certificate (PEM)", underlying: nil) }
        do { privateKey = try NIOSSLPrivateKey(file: key, format: .pem) } catch {
            throw TLSFileError(path: key, what: "private key (PEM)", underlying: error)
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(privateKey))
        configuration.minimumTLSVersion = .tlsv12
        if let clientCA {
            let roots: [NIOSSLCertificate]
            do { roots = try NIOSSLCertificate.fromPEMFile(clientCA) } catch {
                throw TLSFileError(path: clientCA, what: "client CA certificate (PEM)", underlying: error)
            }
            configuration.trustRoots = .certificates(roots)
            configuration.certificateVerification = .noHostnameVerification
        } else {
            configuration.certificateVerification = .none
        }
        return try NIOSSLContext(configuration: configuration)
    }

    /// Reads the certificate, key and CA files again; on failure the old ones stay in use.
    public func reload() throws {
        let fresh = try Self.makeContext(certificate: certificatePath, key: keyPath, clientCA: clientCAPath)
        context.withLockedValue { $0 = fresh }
    }

    /// For `RPCServer.Configuration.channelSetup`.
    public var channelSetup: ServerChannelSetup {
        { [context] channel in
            let current = context.withLockedValue { $0 }
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: current))
        }
    }
}

/// A client's TLS: the CA to trust (default: the system's roots) and an optional client
/// certificate and key for servers that require one. The server's certificate must name the
/// host connected to (a DNS name, or the IP address in its subjectAltName).
public final class TLSClient: Sendable {
    private let context: NIOSSLContext

    public init(ca: String? = nil, certificate: String? = nil, key: String? = nil) throws {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        if let ca {
            do { configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca)) } catch {
                throw TLSFileError(path: ca, what: "CA certificate (PEM)", underlying: error)
            }
        }
        switch (certificate, key) {
        case (nil, nil): break
        case (let certificate?, let key?):
            do {
                configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }
            } catch { throw TLSFileError(path: certificate, what: "client certificate (PEM)", underlying: error) }
            do { configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)) } catch {
                throw TLSFileError(path: key, what: "client private key (PEM)", underlying: error)
            }
        default:
            throw TLSFileError(path: certificate ?? key ?? "", what: "client certificate and key (give both --cert and --key)", underlying: nil)
        }
        self.context = try NIOSSLContext(configuration: configuration)
    }

    /// For `RPCClient.Configuration.channelSetup`.
    public var channelSetup: ClientChannelSetup {
        { [context] channel, host in
            // An IP address cannot be sent as SNI; NIOSSL then checks the certificate's IP SANs against the peer address.
            let isIP = (try? SocketAddress(ipAddress: host, port: 0)) != nil
            try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: isIP ? nil : host))
        }
    }
}

/// A TLS file that could not be read or parsed, naming it.
public struct TLSFileError: Error, CustomStringConvertible {
    public let path: String
    public let what: String
    public let underlying: (any Error)?
    public var description: String {
        "\(path): not a usable \(what)\(underlying.map { ": \($0)" } ?? "")"
    }
}

/// What a client presents: an API key for HELLO and, for TLS, the CA to trust and an optional
/// client certificate. Shared by lvctl, lv-load and the gateway's backend clients.
public struct ClientSecurity: Sendable {
    public var credential: String = ""
    /// TLS on: with `ca` nil, the system's trust roots.
    public var tls = false
    public var ca: String?
    public var certificate: String?
    public var key: String?

    public init(credential: String = "", tls: Bool = false, ca: String? = nil, certificate: String? = nil, key: String? = nil) {
        self.credential = credential
        self.tls = tls || ca != nil || certificate != nil
        self.ca = ca
        self.certificate = certificate
        self.key = key
    }

    /// Reads a credential file: one API key, surrounding whitespace ignored.
    public static func readCredential(path: String) throws -> String {
        guard let f = fopen(path, "r") else { throw TLSFileError(path: path, what: "credential file", underlying: nil) }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = fread(&chunk, 1, chunk.count, f)
            if n > 0 { bytes += chunk[0..<n] }
            if n < chunk.count { break }
        }
        let text = String(decoding: bytes, as: UTF8.self).filter { !$0.isWhitespace }
        guard !text.isEmpty else { throw TLSFileError(path: path, what: "credential file (it is empty)", underlying: nil) }
        return text
    }

    /// Sets the credential and, when TLS is on, the TLS handlers of `configuration`.
    public func apply(to configuration: inout RPCClient.Configuration) throws {
        configuration.credential = credential
        if tls {
            configuration.channelSetup = try TLSClient(ca: ca, certificate: certificate, key: key).channelSetup
        }
    }
}
