package dev.tollgate.common.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.tollgate.common.policy.HostPattern.Kind;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class HostPatternTest {

  @ParameterizedTest(name = "{0} is {1} {2}")
  @CsvSource({
    "example.com, EXACT, example.com",
    "Example.COM., EXACT, example.com",
    "localhost, EXACT, localhost",
    "under_score.example, EXACT, under_score.example",
    "xn--bcher-kva.de, EXACT, xn--bcher-kva.de",
    "1.2.3.4.5, EXACT, 1.2.3.4.5",
    "*.example.com, SUFFIX, *.example.com",
    "*.EXAMPLE.com., SUFFIX, *.example.com",
    "*.com, SUFFIX, *.com",
    "127.0.0.1, NETWORK, 127.0.0.1",
    "0x7f000001, NETWORK, 127.0.0.1",
    "2130706433, NETWORK, 127.0.0.1",
    "0177.0.0.1, NETWORK, 127.0.0.1",
    "127.1, NETWORK, 127.0.0.1",
    "127.0.0.1., NETWORK, 127.0.0.1",
    "[::ffff:127.0.0.1], NETWORK, 127.0.0.1",
    "[::1], NETWORK, 0:0:0:0:0:0:0:1",
    "10.0.0.0/8, NETWORK, 10.0.0.0/8",
    "fd00::/8, NETWORK, fd00:0:0:0:0:0:0:0/8",
    "::ffff:10.0.0.0/8, NETWORK, 10.0.0.0/8",
    "10.0.0.1/32, NETWORK, 10.0.0.1",
  })
  void parses(String text, Kind kind, String written) {
    HostPattern p = HostPattern.parse(text);
    assertEquals(kind, p.kind());
    assertEquals(written, p.toString());
    assertEquals(p, HostPattern.parse(p.toString()));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "*", "*.", "**.example.com", "a.*.com", "*.1", "*.0x10", "a..b", ".example.com", "exa mple.com", "bücher.de",
      "10.0.0.0/33", "host/8", "fe80::1%eth0", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com"})
  void refuses(String text) {
    assertThrows(IllegalArgumentException.class, () -> HostPattern.parse(text));
  }

  @ParameterizedTest(name = "{0} matches {1}: {2}")
  @CsvSource({
    "example.com, example.com, true",
    "example.com, www.example.com, false",
    "*.example.com, www.example.com, true",
    "*.example.com, a.b.example.com, true",
    "*.example.com, example.com, false",
    "*.example.com, badexample.com, false",
    "10.0.0.0/8, 10.9.9.9, true",
    "10.0.0.0/8, 11.0.0.1, false",
  })
  void matches(String pattern, String target, boolean expected) {
    Target t = Target.of(target);
    assertEquals(expected, HostPattern.parse(pattern).matches(t.name(), t.address()));
  }
}
