package dev.tollgate.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tollgate.common.AddressClassifier.Kind;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class AddressClassifierTest {

  @ParameterizedTest(name = "{0} is {1}")
  @CsvSource({
    "127.0.0.1, LOOPBACK",
    "127.255.255.254, LOOPBACK",
    "::1, LOOPBACK",
    "10.0.0.1, PRIVATE",
    "172.16.0.1, PRIVATE",
    "172.31.255.255, PRIVATE",
    "172.32.0.1, PUBLIC",
    "192.168.1.1, PRIVATE",
    "100.64.0.1, CGNAT",
    "100.127.255.255, CGNAT",
    "100.128.0.1, PUBLIC",
    "169.254.169.254, LINK_LOCAL",
    "169.254.0.1, LINK_LOCAL",
    "fe80::1, LINK_LOCAL",
    "fc00::1, UNIQUE_LOCAL",
    "fd12:3456::1, UNIQUE_LOCAL",
    "0.0.0.0, UNSPECIFIED",
    "0.1.2.3, UNSPECIFIED",
    "::, UNSPECIFIED",
    "224.0.0.1, MULTICAST",
    "ff02::1, MULTICAST",
    "240.0.0.1, RESERVED",
    "198.18.0.1, RESERVED",
    "8.8.8.8, PUBLIC",
    "1.1.1.1, PUBLIC",
    "2606:4700::1111, PUBLIC",
    "::ffff:127.0.0.1, LOOPBACK",
    "::ffff:10.1.2.3, PRIVATE",
    "::ffff:169.254.169.254, LINK_LOCAL",
    "::ffff:8.8.8.8, PUBLIC",
    "64:ff9b::a00:1, PRIVATE",
    "64:ff9b::808:808, PUBLIC",
    "::10.0.0.1, PRIVATE",
  })
  void classifies(String address, Kind expected) {
    assertEquals(expected, AddressClassifier.classify(IpLiterals.parse(address)));
  }

  @ParameterizedTest(name = "{0} allowed by {1}: {2}")
  @CsvSource({
    "127.0.0.1, 127.0.0.0/8, true",
    "127.0.0.1, 10.0.0.0/8, false",
    "10.1.2.3, 10.0.0.0/8, true",
    "::ffff:10.1.2.3, 10.0.0.0/8, true",
    "8.8.8.8, 10.0.0.0/8, true",
    "169.254.169.254, 169.254.0.0/16, true",
    "169.254.169.254, 169.254.169.0/25, false",
    "fd00::5, fd00::/8, true",
  })
  void permits(String address, String cidr, boolean expected) {
    assertEquals(expected, AddressClassifier.permitted(IpLiterals.parse(address), List.of(Cidr.parse(cidr))));
  }

  @ParameterizedTest(name = "{0} is read as {1}")
  @CsvSource({
    "2130706433, 127.0.0.1",
    "0x7f000001, 127.0.0.1",
    "0177.0.0.1, 127.0.0.1",
    "127.1, 127.0.0.1",
    "127.0.1, 127.0.0.1",
    "[::ffff:127.0.0.1], 127.0.0.1",
    "0xa9.0xfe.0xa9.0xfe, 169.254.169.254",
    "10.0.0.1, 10.0.0.1",
  })
  void oddEncodingsAreNormalised(String text, String canonical) {
    var parsed = IpLiterals.parse(text);
    assertNotNull(parsed, text);
    assertEquals(canonical, AddressClassifier.unmapped(parsed).getHostAddress());
  }

  @ParameterizedTest(name = "{0} is a name, not a literal")
  @CsvSource({"example.com", "localhost", "1.2.3.4.5", "256.0.0.1x", "0x", "1..2", "fe80::1%eth0", "12345678901234"})
  void namesAreNotLiterals(String text) {
    if (text.equals("0x")) {
      assertTrue(IpLiterals.isLiteral(text)); // inet_aton reads a bare 0x as 0
      return;
    }
    assertFalse(IpLiterals.isLiteral(text), text);
  }
}
