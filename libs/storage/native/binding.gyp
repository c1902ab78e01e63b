{
  "variables": {
    "have_isal": "<!(test -f /usr/include/isa-l/crc.h && echo 1 || echo 0)"
  },
  "targets": [
    {
      "target_name": "tandem_fs",
      "sources": ["tandem_fs.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"],
      "conditions": [
        ["have_isal==1", {
          "defines": ["TANDEM_ISAL"],
          "libraries": ["-lisal"]
        }]
      ]
    }
  ]
}
