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
    description = "Proof-of-work algorithm names as miners spell them (RandomX rx/*, CryptoNight cn/*, KawPow, Ethash, Argon2, GhostRider), with RandomX's Argon2 key salt or four names together"
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

rule coalmine_pow_constants
{
  meta:
    description = "Proof-of-work constants: RandomX's AES generator key and hash state (Blake2b outputs), KawPow's RAVENCOINKAWPOW padding words, the start of Ethash's dataset and cache size tables. A miner's, and also a coin node's or wallet's, which verify blocks with the same code: medium. Read where a process made or unpacked them (a packed or fileless miner's constants, a Go miner's data), not from a file mapped read-only"
    kind = "miner"
    strength = "medium"
  strings:
    $rx_aes_gen_key0 = { 53 a5 ac 6d 09 66 71 62 2b 55 b5 db 17 49 f4 b4 }
    $rx_aes_hash_state0 = { 0d 2c b5 92 de 56 a8 9f 47 db 82 cc ad 3a 98 d7 }
    $kawpow_padding = { 72 00 00 00 41 00 00 00 56 00 00 00 45 00 00 00 4e 00 00 00 43 00 00 00 4f 00 00 00 49 00 00 00 4e 00 00 00 4b 00 00 00 41 00 00 00 57 00 00 00 50 00 00 00 4f 00 00 00 57 00 00 00 }
    $ethash_dag_sizes = { 80 f8 ff 3f 00 00 00 00 80 ff 7f 40 00 00 00 00 80 ef ff 40 00 00 00 00 }
    $ethash_cache_sizes = { c0 fe ff 00 00 00 00 00 c0 fc 01 01 00 00 00 00 c0 ff 03 01 00 00 00 00 }
  condition:
    any of them
}
