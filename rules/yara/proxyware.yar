// coalmine's own YARA rules for proxyware SDKs and clients in memory (written for coalmine). A vendor's
// name beside the words its client uses for the bandwidth it sells: a browser that visited the
// vendor's site holds the name but not the client's state.

rule coalmine_proxyware_client
{
  meta:
    description = "A bandwidth-sharing (proxyware) client or SDK: a vendor's name with its device/bandwidth vocabulary"
    kind = "proxyware"
    strength = "medium"
  strings:
    $v1 = "honeygain" nocase
    $v2 = "pawns.app" nocase
    $v3 = "iproyal" nocase
    $v4 = "traffmonetizer" nocase
    $v5 = "repocket" nocase
    $v6 = "earnapp" nocase
    $v7 = "packetstream" nocase
    $v8 = "peer2profit" nocase
    $v9 = "proxyrack" nocase
    $v10 = "bitping" nocase
    $v11 = "mysterium" nocase
    $w1 = "device_id" nocase
    $w2 = "device-name" nocase
    $w3 = "bandwidth" nocase
    $w4 = "accept-tos" nocase
    $w5 = "tou-accept" nocase
    $w6 = "traffic" nocase
  condition:
    any of ($v*) and 2 of ($w*)
}
