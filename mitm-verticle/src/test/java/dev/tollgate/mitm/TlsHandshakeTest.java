package dev.tollgate.mitm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tollgate.testing.Await;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.KeyCertOptions;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.PemKeyCertOptions;
import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SNIServerName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;

/**
 * Real handshakes over loopback: a client that trusts only the CA, checks the host the way HTTPS
 * does ({@code endpointIdentificationAlgorithm=HTTPS}) and sends SNI for names.
 */
class TlsHandshakeTest {
  private static final CertificateAuthority CA = CertificateAuthority.create(new CaOptions().setName("tls"));

  @Test
  void aDnsLeafPassesTheHttpsHostnameCheckWithSni() throws Exception {
    LeafCertificate leaf = CA.mint("www.example.test");
    assertEquals(List.of(new SNIHostName("www.example.test")), handshake(leaf, CA.certificate(), "www.example.test"));
  }

  @Test
  void anIpLeafPassesTheHttpsHostnameCheck() throws Exception {
    LeafCertificate leaf = CA.mint("127.0.0.1");
    assertEquals(List.of(), handshake(leaf, CA.certificate(), "127.0.0.1"), "no SNI for an IP");
  }

  @Test
  void aLeafForAnotherHostFailsTheHostnameCheck() {
    LeafCertificate leaf = CA.mint("www.example.test");
    SSLHandshakeException e = assertThrows(SSLHandshakeException.class, () -> handshake(leaf, CA.certificate(), "other.example.test"));
    assertTrue(e.getMessage().contains("other.example.test"), e.getMessage());
    assertThrows(SSLHandshakeException.class, () -> handshake(CA.mint("127.0.0.1"), CA.certificate(), "127.0.0.2"));
  }

  @Test
  void aClientTrustingAnotherCaRefusesTheLeaf() {
    CertificateAuthority other = CertificateAuthority.create(new CaOptions());
    assertThrows(SSLHandshakeException.class, () -> handshake(CA.mint("www.example.test"), other.certificate(), "www.example.test"));
  }

  @Test
  void anRsaCaWorksToo() throws Exception {
    CertificateAuthority rsa = CertificateAuthority.create(new CaOptions().setKeyAlgorithm(KeyAlgorithm.RSA_2048));
    handshake(rsa.mint("www.example.test"), rsa.certificate(), "www.example.test");
    handshake(rsa.mint("127.0.0.1"), rsa.certificate(), "127.0.0.1");
  }

  @Test
  void vertxServesTheLeafAsKeyManagerAndAsPem() throws Exception {
    Vertx vertx = Vertx.vertx();
    try {
      LeafCertificate leaf = CA.mint("www.example.test");
      PemKeyPair pem = leaf.toPem();
      List<KeyCertOptions> forms = List.of(
          KeyCertOptions.wrap(leaf.keyManager()),
          new PemKeyCertOptions().setCertValue(Buffer.buffer(pem.certificatePem())).setKeyValue(Buffer.buffer(pem.privateKeyPem())));
      for (KeyCertOptions form : forms) {
        NetServer server = vertx.createNetServer(new NetServerOptions().setSsl(true).setKeyCertOptions(form).setHost("127.0.0.1").setPort(0));
        server.connectHandler(socket -> socket.write("ok").onComplete(x -> socket.close()));
        Await.result(server.listen());
        try {
          assertEquals("ok", clientRead(CA.certificate(), "www.example.test", server.actualPort()));
        } finally {
          Await.result(server.close());
        }
      }
    } finally {
      Await.result(vertx.close());
    }
  }

  /** Handshakes with a JDK server holding {@code leaf}; returns the SNI names the server saw. */
  private static List<SNIServerName> handshake(LeafCertificate leaf, X509Certificate trusted, String host) throws Exception {
    SSLContext serverContext = SSLContext.getInstance("TLS");
    serverContext.init(new KeyManager[] {leaf.keyManager()}, null, null);
    try (SSLServerSocket listener =
        (SSLServerSocket) serverContext.getServerSocketFactory().createServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      CompletableFuture<List<SNIServerName>> serverSide =
          CompletableFuture.supplyAsync(
              () -> {
                try (SSLSocket s = (SSLSocket) listener.accept()) {
                  s.setSoTimeout(10_000);
                  s.startHandshake();
                  s.getOutputStream().write("ok".getBytes());
                  s.getOutputStream().flush();
                  return ((ExtendedSSLSession) s.getSession()).getRequestedServerNames();
                } catch (IOException e) {
                  return null; // the client's verdict is what the tests assert
                }
              });
      assertEquals("ok", clientRead(trusted, host, listener.getLocalPort()));
      return serverSide.get(10, TimeUnit.SECONDS);
    }
  }

  /** A JDK client trusting only {@code trusted}, connecting to loopback as if to {@code host}. */
  static String clientRead(X509Certificate trusted, String host, int port) throws Exception {
    SSLContext clientContext = SSLContext.getInstance("TLS");
    clientContext.init(null, Pki.trustOnly(trusted), null);
    try (Socket plain = new Socket(InetAddress.getLoopbackAddress(), port);
        SSLSocket client = (SSLSocket) clientContext.getSocketFactory().createSocket(plain, host, port, true)) {
      client.setSoTimeout(10_000);
      SSLParameters params = client.getSSLParameters();
      params.setEndpointIdentificationAlgorithm("HTTPS");
      if (!dev.tollgate.common.IpLiterals.isLiteral(host)) {
        params.setServerNames(List.of(new SNIHostName(host)));
      }
      client.setSSLParameters(params);
      client.startHandshake();
      byte[] buf = client.getInputStream().readNBytes(2);
      return new String(buf);
    }
  }
}
