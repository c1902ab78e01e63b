{
  "targets": [
    {
      "target_name": "tandem_fs",
      "sources": ["tandem_fs.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"]
    }
  ]
}
