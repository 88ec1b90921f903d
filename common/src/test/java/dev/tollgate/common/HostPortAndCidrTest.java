package dev.tollgate.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class HostPortAndCidrTest {

  @ParameterizedTest
  @CsvSource({"example.com:443, example.com, 443", "[::1]:8080, ::1, 8080", "127.0.0.1:0, 127.0.0.1, 0"})
  void parsesHostPort(String text, String host, int port) {
    HostPort hp = HostPort.parse(text);
    assertEquals(host, hp.host());
    assertEquals(port, hp.port());
    assertEquals(text, hp.toString());
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "example.com", "example.com:", ":80", "a:b:c", "host:70000", "host:-1", "[::1]80", "[::1", "host:8o"})
  void refusesBadHostPort(String text) {
    assertThrows(IllegalArgumentException.class, () -> HostPort.parse(text));
  }

  @Test
  void cidrRoundTripsAndMatches() {
    Cidr c = Cidr.parse("10.1.0.0/16");
    assertEquals("10.1.0.0/16", c.toString());
    assertEquals(Cidr.parse("10.1.0.0/16"), c);
    assertEquals(true, c.contains(IpLiterals.parse("10.1.255.1")));
    assertEquals(false, c.contains(IpLiterals.parse("10.2.0.1")));
    assertEquals(true, Cidr.parse("0.0.0.0/0").contains(IpLiterals.parse("8.8.8.8")));
    assertEquals(true, Cidr.parse("192.168.1.7").contains(IpLiterals.parse("192.168.1.7")));
    assertEquals(true, Cidr.parse("10.0.0.0/9").contains(IpLiterals.parse("10.127.0.1")));
    assertEquals(false, Cidr.parse("10.0.0.0/9").contains(IpLiterals.parse("10.128.0.1")));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "10.0.0.0/33", "10.0.0.0/", "example.com/8", "::/129", "10.0.0.0/x"})
  void refusesBadCidr(String text) {
    assertThrows(IllegalArgumentException.class, () -> Cidr.parse(text));
  }
}
