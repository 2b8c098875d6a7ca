"""One side of the 4K-frame transport test: ``sub N SECONDS`` prints how many frames arrived, ``pub N GAP_S``."""

import sys
import time

import numpy as np
import rclpy
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image

W, H = 3840, 2160


def main() -> None:
    role, n = sys.argv[1], int(sys.argv[2])
    rclpy.init()
    node = rclpy.create_node(f"large_frame_{role}")
    if role == "pub":
        pub = node.create_publisher(Image, "large_frames", qos_profile_sensor_data)
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
        node.create_subscription(Image, "large_frames", lambda m: sizes.append(len(m.data)), qos_profile_sensor_data)
        end = time.monotonic() + float(sys.argv[3])
        while time.monotonic() < end and len(sizes) < n:
            rclpy.spin_once(node, timeout_sec=0.1)
        print(f"received {len(sizes)} {sorted(set(sizes))}", flush=True)
    node.destroy_node()
    rclpy.shutdown()


if __name__ == "__main__":
    main()
