package dev.tollgate.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tollgate.node.fixtures.Control;
import dev.tollgate.node.fixtures.ForkedNode;
import dev.tollgate.node.fixtures.TestNodes;
import dev.tollgate.testing.Await;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The interception CA: generated once into the data dir, served at /v1/ca.pem and by {@code ca export}. */
class CaTest {
  @Test
  void aNodeGeneratesItsCaOnceAndHandsItOut(@TempDir Path dir) throws Exception {
    Node node = TestNodes.start(TestNodes.config(dir, List.of(443)));
    String pem;
    try {
      Control.Reply r = new Control(node).get("/v1/ca.pem");
      assertEquals(200, r.status());
      pem = r.body().getString("text");
      assertEquals(Files.readString(dir.resolve("ca.pem")), pem);
      assertEquals(Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE), Files.getPosixFilePermissions(dir.resolve("ca-key.pem")));
      X509Certificate ca = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(pem.getBytes()));
      assertTrue(ca.getBasicConstraints() >= 0, "a CA certificate");
      assertEquals("EC", ca.getPublicKey().getAlgorithm(), "EC P-256 by default");
      HttpResponse<String> anonymous = HttpClient.newHttpClient().send(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.controlPort() + "/v1/ca.pem")).build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(401, anonymous.statusCode(), "under /v1: the token is needed");
    } finally {
      Await.result(node.stop());
    }
    Node again = TestNodes.start(TestNodes.config(dir, List.of(443)));
    try {
      assertEquals(pem, new Control(again).get("/v1/ca.pem").body().getString("text"), "the same CA after a restart");
    } finally {
      Await.result(again.stop());
    }
    try (ForkedNode export = ForkedNode.start(List.of(), List.of("ca", "export", "--data-dir", dir.toString()))) {
      assertEquals(0, export.waitFor(60), export.output());
      assertTrue(export.output().contains(pem.strip()), export.output());
    }
  }
}
