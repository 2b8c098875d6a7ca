"""One side of the 4K-frame transport test: ``sub N SECONDS`` prints how many frames arrived, ``pub N GAP_S``.

Both sides use best-effort QoS (as camera drivers publish) with a history deep enough for every frame, so that
the count measures the transport (the Fast DDS shared-memory segment), not a subscriber's queue: a subscriber
stalled for a second on a loaded machine would otherwise lose the oldest frame of a depth-5 history.
"""

import sys
import time

import numpy as np
import rclpy
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image

W, H = 3840, 2160


def main() -> None:
    role, n = sys.argv[1], int(sys.argv[2])
    qos = QoSProfile(depth=max(n, 1), history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.BEST_EFFORT)
    rclpy.init()
    node = rclpy.create_node(f"large_frame_{role}")
    if role == "pub":
        pub = node.create_publisher(Image, "large_frames", qos)
        deadline = time.monotonic() + 20
        while pub.get_subscription_count() == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        data = np.random.default_rng(0).integers(0, 255, H * W * 3, dtype=np.uint8).tobytes()
        for i in range(n):
            msg = Image(height=H, width=W, encoding="rgb8", step=3 * W, data=data)
            msg.header.frame_id = str(i)
            pub.publish(msg)
            time.sleep(float(sys.argv[3]))
        time.sleep(1.0)
    else:
        sizes: list[int] = []
        ids: list[str] = []

        def on_frame(msg: Image) -> None:
            sizes.append(len(msg.data))
            ids.append(msg.header.frame_id)

        node.create_subscription(Image, "large_frames", on_frame, qos)
        end = time.monotonic() + float(sys.argv[3])
        while time.monotonic() < end and len(sizes) < n:
            rclpy.spin_once(node, timeout_sec=0.1)
        print(f"received {len(sizes)} {sorted(set(sizes))} frames {' '.join(ids)}", flush=True)
    node.destroy_node()
    rclpy.shutdown()


if __name__ == "__main__":
    main()
