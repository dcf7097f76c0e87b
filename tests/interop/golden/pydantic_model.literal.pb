
-+
 ƒ¢lrË?„záG®{¦layers’@ ¤name£mlpmsgpack