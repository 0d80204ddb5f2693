import Video
