# Scenario 9 — memoryview: slicing a large buffer without copying (article 001).
import tracemalloc

tracemalloc.start()
data = bytearray(10 * 1024 * 1024)
before, _ = tracemalloc.get_traced_memory()
view = memoryview(data)
part = view[1024: 5 * 1024 * 1024]  # a slice of a view is a view: no copy
part[0] = 42
after, _ = tracemalloc.get_traced_memory()
print(f"slicing 5 MiB through a view allocated {after - before} bytes")
print("= slice_len", len(part))
print("= shared_write_seen", data[1024])
print("= copy_avoided", int(after - before < 4096))
try:
    data.extend(b"x")
    print("= resize_error", 0)
except BufferError as e:
    print("BufferError:", e)
    print("= resize_error", 1)
part.release()
view.release()
data.extend(b"x")
print("= resize_after_release", len(data))
