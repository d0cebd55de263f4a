//! The area an edit may change: what the person painted over the source, kept as the marks
//! they made (brush strokes, erasures, rectangles) in the pixels of the image they painted
//! on. Marks rather than pixels, so the history and its export keep a few numbers instead
//! of an image, and the page can draw them at any size: the result's, or the original
//! photo's at full size.

use serde::{Deserialize, Serialize};

/// A feather radius is at most this many pixels of the painted image.
pub const FEATHER_MAX: f32 = 200.0;
/// The feather radius a new mask starts with.
pub const FEATHER_DEFAULT: f32 = 8.0;

/// One brush stroke: a line through `points` as wide as twice `radius`, with round ends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stroke {
    pub radius: f32,
    pub points: Vec<[f32; 2]>,
}

impl Stroke {
    pub fn new(radius: f32, at: [f32; 2]) -> Self {
        Self {
            radius,
            points: vec![at],
        }
    }

    /// Adds a point of a stroke being drawn. Points closer than a quarter of the radius to
    /// the last add nothing to the line's shape, only to what is kept.
    pub fn extend(&mut self, at: [f32; 2]) -> bool {
        let Some(last) = self.points.last() else {
            self.points.push(at);
            return true;
        };
        let (dx, dy) = (at[0] - last[0], at[1] - last[1]);
        if (dx * dx + dy * dy).sqrt() < self.radius / 4.0 {
            return false;
        }
        self.points.push(at);
        true
    }
}

/// One thing the person did to the area. Externally tagged (`{"paint": {…}}`), which
/// serde reads without buffering and the compositing worker reads as plain objects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mark {
    Paint(Stroke),
    Erase(Stroke),
    /// `[x, y, width, height]`.
    Rect([f32; 4]),
}

/// The area to change, in the pixels of the `width` × `height` image it was painted on,
/// with the width of its soft edge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mask {
    pub width: u32,
    pub height: u32,
    /// How far inside the area the result fades in from the original, in pixels.
    #[serde(default)]
    pub feather: f32,
    pub marks: Vec<Mark>,
}

impl Mask {
    /// Whether anything was painted; a mask with only erasures leaves the whole image free.
    pub fn is_painted(&self) -> bool {
        self.marks
            .iter()
            .any(|m| matches!(m, Mark::Paint(_) | Mark::Rect(_)))
    }

    /// Whether the mask can be drawn over an image of `width` × `height`: it was painted on
    /// an image of that shape (within a pixel of rounding), at whatever size.
    pub fn fits(&self, width: u32, height: u32) -> bool {
        if self.width == 0 || self.height == 0 || width == 0 || height == 0 {
            return false;
        }
        let scaled = f64::from(self.height) * f64::from(width) / f64::from(self.width);
        (scaled - f64::from(height)).abs() <= 1.0 + f64::from(height) / 500.0
    }
}

/// A rectangle moved and sized by keys, for people who do not paint with a pointer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KeyRect {
    pub x: f32,
    pub y: f32,
    pub width: f32,
    pub height: f32,
}

impl KeyRect {
    /// A quarter of the image, in its middle.
    pub fn centred(width: u32, height: u32) -> Self {
        let (w, h) = (width as f32, height as f32);
        Self {
            x: w / 4.0,
            y: h / 4.0,
            width: w / 2.0,
            height: h / 2.0,
        }
    }

    /// The rectangle after a key on an image of `width` × `height`: arrows move it, with
    /// Shift they size it; `None` for keys it ignores. A step is a fiftieth of the image.
    pub fn after_key(self, key: &str, shift: bool, width: u32, height: u32) -> Option<Self> {
        let (w, h) = (width as f32, height as f32);
        let (step_x, step_y) = ((w / 50.0).max(1.0), (h / 50.0).max(1.0));
        let (dx, dy) = match key {
            "ArrowLeft" => (-step_x, 0.0),
            "ArrowRight" => (step_x, 0.0),
            "ArrowUp" => (0.0, -step_y),
            "ArrowDown" => (0.0, step_y),
            _ => return None,
        };
        let mut next = self;
        if shift {
            next.width = (next.width + dx).clamp(step_x, w);
            next.height = (next.height + dy).clamp(step_y, h);
        } else {
            next.x += dx;
            next.y += dy;
        }
        next.x = next.x.clamp(0.0, (w - next.width).max(0.0));
        next.y = next.y.clamp(0.0, (h - next.height).max(0.0));
        Some(next)
    }

    pub fn mark(self) -> Mark {
        Mark::Rect([self.x, self.y, self.width, self.height])
    }

    /// Where it is, in words, for the live region.
    pub fn describe(self) -> String {
        format!(
            "Rectangle at {}, {}, {} × {} px",
            self.x.round(),
            self.y.round(),
            self.width.round(),
            self.height.round()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mask_reads_back_as_written() {
        let mask = Mask {
            width: 200,
            height: 100,
            feather: 4.0,
            marks: vec![
                Mark::Paint(Stroke {
                    radius: 5.0,
                    points: vec![[1.0, 2.0], [30.5, 40.0]],
                }),
                Mark::Erase(Stroke::new(3.0, [10.0, 10.0])),
                Mark::Rect([1.0, 2.0, 3.0, 4.0]),
            ],
        };
        let json = serde_json::to_string(&mask).unwrap();
        assert!(json.contains(r#"{"rect":[1.0,2.0,3.0,4.0]}"#), "{json}");
        assert_eq!(serde_json::from_str::<Mask>(&json).unwrap(), mask);
    }

    #[test]
    fn only_erasing_paints_nothing() {
        let mut mask = Mask {
            width: 10,
            height: 10,
            feather: 0.0,
            marks: vec![Mark::Erase(Stroke::new(3.0, [1.0, 1.0]))],
        };
        assert!(!mask.is_painted());
        mask.marks.push(Mark::Rect([0.0, 0.0, 1.0, 1.0]));
        assert!(mask.is_painted());
    }

    #[test]
    fn a_mask_fits_the_same_shape_at_any_size() {
        let mask = Mask {
            width: 2449,
            height: 1633,
            feather: 0.0,
            marks: vec![],
        };
        assert!(mask.fits(6000, 4000));
        assert!(mask.fits(2449, 1633));
        assert!(!mask.fits(1024, 1024));
        assert!(!mask.fits(0, 0));
    }

    #[test]
    fn close_points_add_nothing_to_a_stroke() {
        let mut stroke = Stroke::new(8.0, [0.0, 0.0]);
        assert!(!stroke.extend([1.0, 1.0]));
        assert!(stroke.extend([5.0, 0.0]));
        assert_eq!(stroke.points.len(), 2);
    }

    #[test]
    fn keys_move_and_size_the_rectangle_within_the_image() {
        let start = KeyRect::centred(100, 50);
        assert_eq!(
            start,
            KeyRect {
                x: 25.0,
                y: 12.5,
                width: 50.0,
                height: 25.0
            }
        );
        let moved = start.after_key("ArrowRight", false, 100, 50).unwrap();
        assert_eq!((moved.x, moved.width), (27.0, 50.0));
        let sized = start.after_key("ArrowDown", true, 100, 50).unwrap();
        assert_eq!((sized.y, sized.height), (12.5, 26.0));
        let mut far = start;
        for _ in 0..100 {
            far = far.after_key("ArrowLeft", false, 100, 50).unwrap();
        }
        assert_eq!(far.x, 0.0);
        assert_eq!(start.after_key("a", false, 100, 50), None);
        assert_eq!(start.mark(), Mark::Rect([25.0, 12.5, 50.0, 25.0]));
    }
}
