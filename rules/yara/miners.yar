// coalmine's own YARA rules for miners in memory (written for coalmine, not copied from any rule set).
// Each says in its meta what it is evidence of: kind (miner | proxyware) and strength (weak | medium |
// strong), which `coalmine inspect` turns into process evidence for the detector. They are meant for
// a running process's private memory (heap, anonymous mappings): what a renamed or packed miner cannot
// hide once it runs, because it must hold its configuration, its pool session and its algorithms.

rule coalmine_xmrig_config
{
  meta:
    description = "XMRig or a fork: its name beside its own configuration keys and log messages"
    kind = "miner"
    strength = "strong"
  strings:
    $name = "xmrig" nocase
    $k1 = "\"donate-level\""
    $k2 = "\"donate-over-proxy\""
    $k3 = "\"huge-pages\""
    $k4 = "\"rig-id\""
    $k5 = "\"max-threads-hint\""
    $k6 = "\"randomx\""
    $k7 = "\"1gb-pages\""
    $k8 = "\"nicehash\""
    $m1 = "new job from "
    $m2 = "use pool "
  condition:
    ($name and 2 of ($k*, $m*)) or 4 of ($k*, $m*)
}

rule coalmine_stratum_session
{
  meta:
    description = "A Stratum mining session's JSON-RPC in memory: subscribe/authorize/submit, or a login with job fields"
    kind = "miner"
    strength = "strong"
  strings:
    $s1 = "\"mining.subscribe\""
    $s2 = "\"mining.authorize\""
    $s3 = "\"mining.submit\""
    $s4 = "\"mining.notify\""
    $s5 = "\"mining.set_difficulty\""
    $login = /"method"[ ]{0,2}:[ ]{0,2}"(login|submit|job|keepalived)"/
    $f1 = "\"job_id\""
    $f2 = "\"seed_hash\""
    $f3 = "\"agent\""
    $f4 = "\"blob\""
    $f5 = "\"target\""
    $f6 = "\"rigid\""
  condition:
    2 of ($s*) or ($login and 2 of ($f*))
}

rule coalmine_pool_url
{
  meta:
    description = "A mining pool URL (stratum+tcp, stratum+ssl, stratum2)"
    kind = "miner"
    strength = "medium"
  strings:
    $u1 = "stratum+tcp://" nocase
    $u2 = "stratum+ssl://" nocase
    $u3 = "stratum+tls://" nocase
    $u4 = "stratum2+tcp://" nocase
    $u5 = "stratum1+tcp://" nocase
  condition:
    any of them
}

rule coalmine_monero_wallet
{
  meta:
    description = "A Monero address (95 base58 characters after 4 or 8) beside a pool login or a miner's option"
    kind = "miner"
    strength = "medium"
  strings:
    $w = /[48][0-9AB][1-9A-HJ-NP-Za-km-z]{93}/
    $c1 = "\"user\""
    $c2 = "\"login\""
    $c3 = "\"pass\""
    $c4 = "--user"
    $c5 = "-u "
  condition:
    $w and 2 of ($c*)
}

rule coalmine_pow_algorithms
{
  meta:
    description = "Proof-of-work algorithms miners carry: RandomX's key salt and the family names (RandomX, CryptoNight, KawPow, Ethash) in the forms miners name them"
    kind = "miner"
    strength = "strong"
  strings:
    $rx_salt = "RandomX\x03"
    $a1 = "rx/0"
    $a2 = "rx/wow"
    $a3 = "rx/arq"
    $a4 = "cn/r"
    $a5 = "cn/half"
    $a6 = "cn-heavy/"
    $a7 = "cn-pico"
    $a8 = "kawpow" nocase
    $a9 = "ethash" nocase
    $a10 = "argon2/chukwa"
    $a11 = "ghostrider" nocase
  condition:
    ($rx_salt and 1 of ($a*)) or 4 of ($a*)
}
